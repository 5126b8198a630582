/**
 * Manager roles and the permissions each one grants, after ZITADEL's defaults.
 * `roles:` in the configuration overrides or adds entries (see effectiveRoleTable).
 */

/** Every permission a service checks. Routes and services name permissions only from this list. */
export const permissionNames = [
  'iam.read',
  'iam.write',
  'iam.domain.write',
  'iam.policy.read',
  'iam.policy.write',
  'iam.member.read',
  'iam.member.write',
  'iam.idp.read',
  'iam.idp.write',
  'events.read',
  'org.create',
  'org.global.read',
  'org.read',
  'org.write',
  'org.delete',
  'org.member.read',
  'org.member.write',
  'org.idp.read',
  'org.idp.write',
  'policy.read',
  'policy.write',
  'policy.delete',
  'user.global.read',
  'user.read',
  'user.write',
  'user.delete',
  'user.credential.write',
  'user.grant.read',
  'user.grant.write',
  'user.grant.delete',
  'user.membership.read',
  'project.create',
  'project.read',
  'project.write',
  'project.delete',
  'project.member.read',
  'project.member.write',
  'project.role.read',
  'project.role.write',
  'project.role.delete',
  'project.app.read',
  'project.app.write',
  'project.app.delete',
  'project.grant.read',
  'project.grant.write',
  'project.grant.delete',
  'project.grant.member.read',
  'project.grant.member.write',
] as const;

export type Permission = (typeof permissionNames)[number];

const known = new Set<string>(permissionNames);
export const isPermission = (name: string): name is Permission => known.has(name);

const read = {
  iam: ['iam.read', 'iam.policy.read', 'iam.member.read', 'iam.idp.read', 'events.read'],
  org: ['org.read', 'org.member.read', 'org.idp.read', 'policy.read'],
  user: ['user.read', 'user.grant.read', 'user.membership.read'],
  project: ['project.read', 'project.member.read', 'project.role.read', 'project.app.read', 'project.grant.read', 'project.grant.member.read'],
} satisfies Record<string, Permission[]>;
const write = {
  iam: ['iam.write', 'iam.domain.write', 'iam.policy.write', 'iam.member.write', 'iam.idp.write'],
  org: ['org.write', 'org.delete', 'org.member.write', 'org.idp.write', 'policy.write', 'policy.delete'],
  user: ['user.write', 'user.delete', 'user.credential.write', 'user.grant.write', 'user.grant.delete'],
  project: [
    'project.create',
    'project.write',
    'project.delete',
    'project.member.write',
    'project.role.write',
    'project.role.delete',
    'project.app.write',
    'project.app.delete',
    'project.grant.write',
    'project.grant.delete',
    'project.grant.member.write',
  ],
} satisfies Record<string, Permission[]>;

const orgAll: Permission[] = [...read.org, ...write.org, ...read.user, ...write.user, ...read.project, ...write.project];

// A project's owner may do everything to it but create one (that is the org's right).
const projectOwner: Permission[] = [
  ...read.project,
  ...write.project.filter((p) => p !== 'project.create'),
  'user.read',
  'user.grant.read',
  'user.grant.write',
  'user.grant.delete',
];

export const defaultRoleTable: Record<string, Permission[]> = {
  IAM_OWNER: [...read.iam, ...write.iam, 'org.create', 'org.global.read', 'user.global.read', ...orgAll],
  IAM_OWNER_VIEWER: [...read.iam, 'org.global.read', 'user.global.read', ...read.org, ...read.user, ...read.project],
  IAM_ORG_MANAGER: ['iam.read', 'iam.policy.read', 'org.create', 'org.global.read', 'user.global.read', ...orgAll],
  IAM_USER_MANAGER: [
    'iam.read',
    'org.global.read',
    'user.global.read',
    'org.read',
    ...read.user,
    ...write.user,
    'project.read',
    'project.role.read',
    'project.grant.read',
  ],
  ORG_OWNER: orgAll,
  ORG_OWNER_VIEWER: [...read.org, ...read.user, ...read.project],
  ORG_USER_MANAGER: ['org.read', ...read.user, ...write.user, 'project.read', 'project.role.read', 'project.grant.read'],
  ORG_USER_PERMISSION_EDITOR: [
    'org.read',
    'org.member.read',
    'user.read',
    'user.grant.read',
    'user.grant.write',
    'user.grant.delete',
    'user.membership.read',
    'project.read',
    'project.role.read',
    'project.grant.read',
  ],
  ORG_PROJECT_PERMISSION_EDITOR: [
    'org.read',
    'project.read',
    'project.role.read',
    'project.member.read',
    'project.member.write',
    'project.grant.read',
    'project.grant.write',
    'project.grant.delete',
    'project.grant.member.read',
    'project.grant.member.write',
  ],
  ORG_PROJECT_CREATOR: ['org.read', 'project.create'],
  PROJECT_OWNER: projectOwner,
  PROJECT_OWNER_VIEWER: [...read.project, 'user.read', 'user.grant.read'],
  // the owner's permissions, and users of every org are readable (to authorize them)
  PROJECT_OWNER_GLOBAL: [...projectOwner, 'user.global.read'],
  PROJECT_OWNER_VIEWER_GLOBAL: [...read.project, 'user.read', 'user.global.read', 'user.grant.read'],
  PROJECT_GRANT_OWNER: [
    'project.read',
    'project.role.read',
    'project.grant.read',
    'project.grant.member.read',
    'project.grant.member.write',
    'user.read',
    'user.grant.read',
    'user.grant.write',
    'user.grant.delete',
  ],
};

export type MembershipLevel = 'instance' | 'org' | 'project' | 'project_grant';

export const roleLevels: Record<string, MembershipLevel> = {
  IAM_OWNER: 'instance',
  IAM_OWNER_VIEWER: 'instance',
  IAM_ORG_MANAGER: 'instance',
  IAM_USER_MANAGER: 'instance',
  ORG_OWNER: 'org',
  ORG_OWNER_VIEWER: 'org',
  ORG_USER_MANAGER: 'org',
  ORG_USER_PERMISSION_EDITOR: 'org',
  ORG_PROJECT_PERMISSION_EDITOR: 'org',
  ORG_PROJECT_CREATOR: 'org',
  PROJECT_OWNER: 'project',
  PROJECT_OWNER_VIEWER: 'project',
  PROJECT_OWNER_GLOBAL: 'project',
  PROJECT_OWNER_VIEWER_GLOBAL: 'project',
  PROJECT_GRANT_OWNER: 'project_grant',
};

/** The level a role belongs to: the built-in table, else its name's prefix (for roles added in configuration). */
export function levelOfRole(role: string): MembershipLevel | undefined {
  if (roleLevels[role]) return roleLevels[role];
  if (role.startsWith('IAM_')) return 'instance';
  if (role.startsWith('ORG_')) return 'org';
  if (role.startsWith('PROJECT_GRANT_')) return 'project_grant';
  if (role.startsWith('PROJECT_')) return 'project';
  return undefined;
}

/** The built-in table with the configuration's `roles:` entries laid over it. */
export function effectiveRoleTable(overrides: Record<string, string[]>): Record<string, Set<string>> {
  const merged: Record<string, string[]> = { ...defaultRoleTable, ...overrides };
  return Object.fromEntries(Object.entries(merged).map(([role, perms]) => [role, new Set(perms)]));
}
