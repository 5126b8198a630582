import YAML from 'yaml';
import { applyFile } from '../../src/cli/apply.js';
import { SpecFile } from '../../src/cli/load.js';
import { Scope } from '../../src/db/scope.js';
import { newId } from '../../src/shared/ids.js';
import type { Runtime } from '../../src/runtime/index.js';
import { testRuntime } from '../support/runtime.js';

/** The plan engine in-process: what each kind of change reads like, and that it really happens. */
let rt: Runtime;
beforeAll(async () => {
  rt = await testRuntime();
});
afterAll(async () => {
  await rt.close();
});

async function apply(spec: object, env: Record<string, string> = {}, dryRun = false): Promise<string[]> {
  const lines: string[] = [];
  await applyFile(rt.db.knex, rt.deps, SpecFile.parse('plan.yaml', YAML.stringify(spec)), { env, dryRun, print: (l) => lines.push(l) });
  return lines;
}
const changes = (lines: string[]) => lines.filter((l) => /^[+~-] /.test(l));

function base(domain: string) {
  return {
    instances: [
      {
        name: 'Plan Test',
        domains: [domain],
        orgs: [
          {
            name: 'Acme',
            users: [
              { username: 'ann', email: 'ann@acme.test', passwordFromEnv: 'ANN_PW' },
              { type: 'machine', username: 'bot', name: 'Bot', secretFromEnv: 'BOT_SECRET' },
            ],
            members: [{ user: 'ann', roles: ['ORG_OWNER'] }],
            projects: [
              {
                name: 'P',
                roles: [{ key: 'a' }, { key: 'b' }],
                apps: [{ name: 'api', clientId: 'p-api', type: 'api', authMethod: 'client_secret_basic', secretFromEnv: 'API_SECRET' }],
                grants: [{ org: 'Other', roles: ['a'] }],
              },
            ],
          },
          { name: 'Other' },
        ],
      },
    ],
  };
}

const env = { ANN_PW: 'Ann-Passw0rd!', BOT_SECRET: 'bot-secret-0123456789', API_SECRET: 'api-secret-0123456789' };

test('every kind of change is planned as a readable diff line, applied, and then reported as no change', async () => {
  const domain = `i${newId()}.test`;
  await apply(base(domain), env);
  const spec = base(domain);
  const inst = spec.instances[0] as Record<string, unknown> & (typeof spec.instances)[0];
  inst.domains = [domain, `alt.${domain}`];
  inst.oidc = { accessTokenLifetime: '90m' };
  inst.policies = { lockout: { maxPasswordAttempts: 3 } };
  const acme = inst.orgs[0] as Record<string, unknown> & (typeof inst.orgs)[0];
  acme.policies = { login: { allowRegister: true } };
  Object.assign(acme.users![0], { givenName: 'Ann', state: 'inactive' });
  acme.members![0].roles = ['ORG_OWNER', 'ORG_USER_MANAGER'];
  Object.assign(acme.projects![0], { projectRoleCheck: true });
  acme.projects![0].roles[1] = { key: 'b', displayName: 'Bee' } as { key: string };
  acme.projects![0].grants[0].roles = ['a', 'b'];
  Object.assign(acme.projects![0].apps[0], { accessTokenType: 'opaque' });
  const rotated = { ...env, API_SECRET: 'api-secret-rotated-0123', BOT_SECRET: 'bot-secret-rotated-0123' };

  const dry = await apply(spec, rotated, true);
  expect(changes(dry)).toEqual([
    `+ instance domain alt.${domain}`,
    '~ instance oidc: accessTokenLifetimeS 43200 → 5400',
    '~ instance policy lockout: maxPasswordAttempts 10 → 3',
    '+ org Acme policy login override',
    '~ user ann@Acme: givenName none → "Ann"',
    '~ user bot@Acme: secret (from $BOT_SECRET)',
    '~ project P: projectRoleCheck false → true',
    '~ project P role b: displayName "b" → "Bee"',
    '~ project P app api: accessTokenType "jwt" → "opaque"',
    '~ project P app api: client secret (from $API_SECRET)',
    '~ grant of project P to Other: roles a → a, b',
    '~ org Acme member ann: roles ORG_OWNER → ORG_OWNER, ORG_USER_MANAGER',
    '~ user ann@Acme: state active → inactive', // deactivations run last
  ]);
  expect(dry[dry.length - 1]).toBe('dry run: 13 changes planned, nothing written');

  const real = await apply(spec, rotated);
  expect(changes(real)).toEqual(changes(dry));
  const id = (await rt.db.knex('instance_domains').where({ domain }).first()).instance_id;
  const scope = new Scope(rt.db.knex, id);
  expect(await scope.table('instances').first('access_token_lifetime_s')).toEqual({ access_token_lifetime_s: 5400 });
  const ann = await scope.table('users').where({ username: 'ann' }).first();
  expect(ann).toMatchObject({ given_name: 'Ann', state: 'inactive' });
  const bot = await scope.table('users').where({ username: 'bot' }).first();
  expect(await rt.deps.hasher.verify(bot.client_secret_hash, rotated.BOT_SECRET)).toBe(true);
  const grant = await scope.table('project_grants').first('role_keys');
  expect(grant.role_keys).toEqual(['a', 'b']);

  expect(changes(await apply(spec, rotated))).toEqual([]);

  // An org policy set to `default` drops the override again.
  acme.policies = { login: 'default' };
  expect(changes(await apply(spec, rotated))).toEqual(['- org Acme policy login override (back to the instance default)']);
  const overrides = await scope.table('policies').whereNotNull('org_id').where({ kind: 'login' });
  expect(overrides).toEqual([]);
});

test('a user grant outside what the giving org holds, and unknown references, are refused while planning', async () => {
  const domain = `i${newId()}.test`;
  await apply(base(domain), env);
  const spec = base(domain);
  const other = spec.instances[0].orgs[1] as Record<string, unknown>;
  other.users = [{ username: 'olga', email: 'olga@other.test' }];
  other.userGrants = [{ user: 'olga', project: 'Acme/P', roles: ['b'] }];
  await expect(apply(spec, env)).rejects.toThrow(
    /^plan\.yaml:\d+:\d+: instances\[0\]\.orgs\[1\]\.userGrants\[0\]\.roles\[0\]: unknown role "b": "Other" may give a on "Acme\/P"$/,
  );

  other.userGrants = [{ user: 'nobody@Acme', project: 'Acme/P', roles: ['a'] }];
  await expect(apply(spec, env)).rejects.toThrow(/userGrants\[0\]\.user: unknown user "nobody@Acme"/);

  other.userGrants = [{ user: 'olga', project: 'Acme/Q', roles: ['a'] }];
  await expect(apply(spec, env)).rejects.toThrow(/userGrants\[0\]\.project: unknown project "Acme\/Q"/);

  // None of the attempts left olga behind.
  const id = (await rt.db.knex('instance_domains').where({ domain }).first()).instance_id;
  expect(await new Scope(rt.db.knex, id).table('users').where({ username: 'olga' })).toEqual([]);
});

test('instance domains are added and the first one listed becomes primary', async () => {
  const domain = `i${newId()}.test`;
  await apply(base(domain), env);
  const spec = base(domain);
  spec.instances[0].domains = [`alt.${domain}`, domain];
  expect(changes(await apply(spec, env))).toEqual([`+ instance domain alt.${domain}`, `~ instance primary domain ${domain} → alt.${domain}`]);
  expect(
    await rt.db
      .knex('instance_domains')
      .where({ domain: `alt.${domain}` })
      .first('is_primary'),
  ).toEqual({ is_primary: true });
  expect(changes(await apply(spec, env))).toEqual([]);
});
