/**
 * What the benchmark seeds with `tessera apply`, as typed apply specs (written as JSON, which is
 * YAML). Secrets stay in the environment (…FromEnv), set by the runner with random values.
 *
 * An instance of the benchmark ("Bench" org) holds:
 * - bench-machine: a machine user for client_credentials (opaque tokens, like the bare provider's),
 *   holding the `reader` role of project Bench, so its tokens carry roles when they ask for the
 *   project's audience;
 * - Bench Web: the web app users sign in to (first-party: no consent page); Bench API: an API app
 *   of the same project, introspecting tokens issued for the project's audience;
 * - bench-user and the sign-in accounts: humans with a role on Bench, so every token and userinfo
 *   response builds the roles claim, as in real use;
 * - bench-caller: a machine user managing the org (ORG_OWNER), for the Management API reads.
 */
import type { z } from 'zod';
import type { fileSchema } from '../src/cli/spec.js';

type ApplySpec = z.input<typeof fileSchema>;
type InstanceSpec = ApplySpec['instances'][number];

/** Environment variables the specs name; the runner fills them with random secrets. */
export const SECRET_ENV = {
  userPassword: 'BENCH_USER_PASSWORD',
  machineSecret: 'BENCH_MACHINE_SECRET',
  webSecret: 'BENCH_WEB_SECRET',
  apiSecret: 'BENCH_API_SECRET',
  callerSecret: 'BENCH_CALLER_SECRET',
} as const;
export type Secrets = Record<keyof typeof SECRET_ENV, string>;

export const WEB_CLIENT = 'bench-web';
export const API_CLIENT = 'bench-api';
export const MACHINE = 'bench-machine';
export const CALLER = 'bench-caller';
export const REDIRECT_URI = 'https://bench.example.com/callback';

export function secretsEnv(secrets: Secrets): Record<string, string> {
  return Object.fromEntries(Object.entries(SECRET_ENV).map(([k, env]) => [env, secrets[k as keyof Secrets]]));
}

/** The sign-in accounts' login names (their email addresses) in an org's mail domain. */
export function signinLoginNames(count: number, mailDomain: string): string[] {
  return Array.from({ length: count }, (_, i) => `signin-${String(i + 1).padStart(3, '0')}@${mailDomain}`);
}

/** The instance everything but the large-instance scenario measures: small, as most are. */
export function benchInstance(domains: string[], orgName: string, signinAccounts: number, mailDomain = 'bench.example.com'): InstanceSpec {
  const accounts = signinLoginNames(signinAccounts, mailDomain);
  return {
    domains,
    orgs: [
      {
        name: orgName,
        users: [
          {
            username: 'bench-user',
            email: `bench-user@${mailDomain}`,
            emailVerified: true,
            givenName: 'Bench',
            familyName: 'User',
            passwordFromEnv: SECRET_ENV.userPassword,
          },
          ...accounts.map((email) => ({
            username: email.split('@')[0],
            email,
            emailVerified: true,
            givenName: 'Sign',
            familyName: 'In',
            passwordFromEnv: SECRET_ENV.userPassword,
          })),
          { type: 'machine', username: MACHINE, name: 'Bench machine', accessTokenType: 'opaque', secretFromEnv: SECRET_ENV.machineSecret },
          { type: 'machine', username: CALLER, name: 'Bench API caller', accessTokenType: 'opaque', secretFromEnv: SECRET_ENV.callerSecret },
        ],
        members: [{ user: `${CALLER}@${orgName}`, roles: ['ORG_OWNER'] }],
        projects: [
          {
            name: 'Bench',
            projectRoleAssertion: true,
            roles: [
              { key: 'reader', displayName: 'Reader' },
              { key: 'writer', displayName: 'Writer' },
            ],
            apps: [
              {
                name: 'Bench Web',
                clientId: WEB_CLIENT,
                type: 'web',
                authMethod: 'client_secret_basic',
                secretFromEnv: SECRET_ENV.webSecret,
                redirectUris: [REDIRECT_URI],
                skipConsent: true,
                accessTokenType: 'opaque',
              },
              { name: 'Bench API', clientId: API_CLIENT, type: 'api', authMethod: 'client_secret_basic', secretFromEnv: SECRET_ENV.apiSecret },
            ],
          },
        ],
        userGrants: [
          { user: 'bench-user', project: 'Bench', roles: ['reader', 'writer'] },
          { user: MACHINE, project: 'Bench', roles: ['reader'] },
          ...accounts.map((email) => ({ user: email.split('@')[0], project: 'Bench', roles: ['reader'] })),
        ],
      },
    ],
  };
}

/** The large instance's frame: the same apps and machine user, plus the projects its bulk grants spread over. */
export function largeInstance(domain: string, orgName: string, projects: number): InstanceSpec {
  const frame = benchInstance([domain], orgName, 0, domain);
  const org = frame.orgs![0];
  for (let i = 2; i <= projects; i++) {
    org.projects!.push({ name: `Project ${String(i).padStart(2, '0')}`, projectRoleAssertion: true, roles: [{ key: 'reader' }, { key: 'writer' }] });
  }
  return frame;
}
