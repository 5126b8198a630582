import { z } from 'zod';
import { appName, appSettingsShape, appTypes, authMethods } from '../domain/project/app-schemas.js';

/**
 * The format of `tessera apply` files (and of `tessera export` output). Every field that is
 * optional means "leave as it is" when left out, so a file states only what it cares about;
 * objects are matched by name, and nothing the file does not name is ever deleted. Objects
 * are strict so a misspelt key is an error instead of being silently ignored.
 */

const durationPattern = /^(\d+)(s|m|h|d)$/;
const unitSeconds: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };

/** Seconds, or a string like `12h`, `30d`, `90s`. */
export const duration = z
  .union([z.number().int().min(1), z.string().regex(durationPattern, 'must be seconds or a duration like 12h, 30d, 45m')])
  .transform((v) => {
    if (typeof v === 'number') return v;
    const [, n, unit] = durationPattern.exec(v)!;
    return Number(n) * unitSeconds[unit];
  });

export function formatDuration(seconds: number): string | number {
  for (const unit of ['d', 'h', 'm'] as const) {
    if (seconds % unitSeconds[unit] === 0) return `${seconds / unitSeconds[unit]}${unit}`;
  }
  return seconds;
}

/** The name of an environment variable a secret is read from; secrets never sit in the file. */
const envName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an environment variable name');

const absent = z.literal(true).optional().describe('true removes the named object (only what a file names can be removed)');

const member = z.strictObject({
  /** `username@Org name` or an exact login name */
  user: z.string().min(1),
  roles: z.array(z.string().min(1)).min(1),
  absent,
});

const idp = z.strictObject({
  name: z.string().min(1),
  issuer: z.url(),
  clientId: z.string().min(1),
  clientSecretFromEnv: envName.optional(),
  scopes: z.array(z.string().min(1)).optional(),
  isLinkingAllowed: z.boolean().optional(),
  isCreationAllowed: z.boolean().optional(),
  isAutoCreation: z.boolean().optional(),
  isAutoUpdate: z.boolean().optional(),
  autoLinking: z.enum(['none', 'email', 'username']).optional(),
  absent,
});

/** Policy settings are checked against the policy schemas when planning, so only their shape is checked here. */
const policySettings = z.record(z.string(), z.unknown());
export const policyKeys = ['login', 'passwordComplexity', 'lockout', 'domain', 'label', 'privacy', 'notification'] as const;
export type PolicyKey = (typeof policyKeys)[number];
const instancePolicies = z.strictObject(
  Object.fromEntries(policyKeys.map((k) => [k, policySettings.optional()])) as Record<PolicyKey, z.ZodOptional<typeof policySettings>>,
);
/** An org override, or `default` to drop the override and follow the instance default. */
const orgPolicy = z.union([z.literal('default'), policySettings]);
const orgPolicies = z.strictObject(Object.fromEntries(policyKeys.map((k) => [k, orgPolicy.optional()])) as Record<PolicyKey, z.ZodOptional<typeof orgPolicy>>);

const metadata = z.record(z.string().min(1), z.string());

const humanUser = z.strictObject({
  type: z.literal('human').optional(),
  username: z.string().min(1),
  email: z.string().regex(/^[^@\s]+@[^@\s]+$/, 'must be an email address'),
  emailVerified: z.boolean().optional(),
  phone: z.string().optional(),
  givenName: z.string().optional(),
  familyName: z.string().optional(),
  displayName: z.string().optional(),
  preferredLanguage: z.string().optional(),
  state: z.enum(['initial', 'active', 'inactive', 'locked']).optional(),
  passwordFromEnv: envName.optional(),
  metadata: metadata.optional(),
  absent,
});

const machineUser = z.strictObject({
  type: z.literal('machine'),
  username: z.string().min(1),
  name: z.string().min(1),
  description: z.string().optional(),
  accessTokenType: z.enum(['jwt', 'opaque']).optional(),
  state: z.enum(['active', 'inactive', 'locked']).optional(),
  secretFromEnv: envName.optional(),
  metadata: metadata.optional(),
  absent,
});

const user = z.union([machineUser, humanUser]);

const role = z.strictObject({
  key: z.string().min(1),
  displayName: z.string().optional(),
  group: z.string().optional(),
  absent,
});

const app = z.strictObject({
  name: appName,
  clientId: z.string().min(1).optional(),
  type: appTypes,
  authMethod: authMethods,
  secretFromEnv: envName.optional(),
  ...appSettingsShape,
  absent,
});

const projectGrant = z.strictObject({
  /** the granted org, by name */
  org: z.string().min(1),
  roles: z.array(z.string().min(1)),
  state: z.enum(['active', 'inactive']).optional(),
  members: z.array(member).optional(),
  absent,
});

const project = z.strictObject({
  name: z.string().min(1),
  state: z.enum(['active', 'inactive']).optional(),
  projectRoleAssertion: z.boolean().optional(),
  projectRoleCheck: z.boolean().optional(),
  hasProjectCheck: z.boolean().optional(),
  privateLabelingSetting: z.enum(['unspecified', 'enforce_project_resource_owner_policy', 'allow_login_user_resource_owner_policy']).optional(),
  roles: z.array(role).optional(),
  apps: z.array(app).optional(),
  grants: z.array(projectGrant).optional(),
  members: z.array(member).optional(),
  absent,
});

const userGrant = z.strictObject({
  /** `username` (of this org), `username@Org name`, or an exact login name */
  user: z.string().min(1),
  /** `Project` (of this org) or `Org name/Project` */
  project: z.string().min(1),
  roles: z.array(z.string().min(1)),
  state: z.enum(['active', 'inactive']).optional(),
  expiresAt: z
    .union([z.iso.datetime({ offset: true }), z.date()])
    .transform((v) => new Date(v))
    .nullable()
    .optional(),
  absent,
});

const orgDomain = z
  .union([z.string().min(1), z.strictObject({ domain: z.string().min(1), verified: z.boolean().optional(), primary: z.boolean().optional() })])
  .transform((d) => (typeof d === 'string' ? { domain: d } : d));

const org = z.strictObject({
  name: z.string().min(1),
  state: z.enum(['active', 'inactive']).optional(),
  domains: z.array(orgDomain).optional(),
  policies: orgPolicies.optional(),
  idps: z.array(idp).optional(),
  members: z.array(member).optional(),
  users: z.array(user).optional(),
  projects: z.array(project).optional(),
  /** authorizations this org gives */
  userGrants: z.array(userGrant).optional(),
  absent,
});

const smtp = z.strictObject({
  host: z.string().min(1),
  port: z.number().int().min(1).max(65535),
  tls: z.boolean().optional(),
  user: z.string().optional(),
  passwordFromEnv: envName.optional(),
  fromAddress: z.string().regex(/^[^@\s]+@[^@\s]+$/, 'must be an email address'),
  fromName: z.string().optional(),
});

const instance = z.strictObject({
  /** matches an existing instance by id; otherwise instances are matched by their domains */
  id: z.string().min(1).optional(),
  /** the display name */
  name: z.string().min(1).optional(),
  /** the first is the primary domain */
  domains: z.array(z.string().min(1)).min(1),
  /** the org created with a new instance (it holds the first admin); defaults to the first org */
  defaultOrg: z.string().min(1).optional(),
  oidc: z
    .strictObject({
      accessTokenLifetime: duration.optional(),
      idTokenLifetime: duration.optional(),
      refreshTokenIdleLifetime: duration.optional(),
      refreshTokenAbsoluteLifetime: duration.optional(),
    })
    .optional(),
  smtp: smtp.optional(),
  policies: instancePolicies.optional(),
  idps: z.array(idp).optional(),
  members: z.array(member).optional(),
  orgs: z.array(org).optional(),
});

export const fileSchema = z.strictObject({
  instances: z.array(instance).min(1),
});

export type FileSpec = z.infer<typeof fileSchema>;
export type InstanceSpec = z.infer<typeof instance>;
export type OrgSpec = z.infer<typeof org>;
export type UserSpec = z.infer<typeof user>;
export type HumanUserSpec = z.infer<typeof humanUser>;
export type MachineUserSpec = z.infer<typeof machineUser>;
export type ProjectSpec = z.infer<typeof project>;
export type RoleSpec = z.infer<typeof role>;
export type AppSpec = z.infer<typeof app>;
export type ProjectGrantSpec = z.infer<typeof projectGrant>;
export type UserGrantSpec = z.infer<typeof userGrant>;
export type MemberSpec = z.infer<typeof member>;
export type IdpSpec = z.infer<typeof idp>;
export type SmtpSpec = z.infer<typeof smtp>;

/** A location inside the file, as zod and yaml both spell it. */
export type SpecPath = (string | number)[];

export function formatPath(path: SpecPath): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join('');
}
