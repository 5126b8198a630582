/**
 * Manager roles and the permissions each one grants, after ZITADEL's defaults.
 * `roles:` in the configuration overrides or adds entries (see effectiveRoleTable).
 */
const read = {
  iam: ['iam.read', 'iam.policy.read', 'iam.member.read', 'iam.idp.read', 'events.read'],
  org: ['org.read', 'org.member.read', 'org.idp.read', 'policy.read'],
  user: ['user.read', 'user.grant.read', 'user.membership.read'],
  project: ['project.read', 'project.member.read', 'project.role.read', 'project.app.read', 'project.grant.read', 'project.grant.member.read'],
};
const write = {
  iam: ['iam.write', 'iam.policy.write', 'iam.member.write', 'iam.idp.write'],
  org: ['org.write', 'org.delete', 'org.member.write', 'org.idp.write', 'policy.write', 'policy.delete'],
  user: ['user.write', 'user.delete', 'user.credential.write', 'user.grant.write', 'user.grant.delete'],
  project: ['project.create', 'project.write', 'project.delete', 'project.member.write', 'project.role.write', 'project.role.delete',
    'project.app.write', 'project.app.delete', 'project.grant.write', 'project.grant.delete', 'project.grant.member.write'],
};

const orgAll = [...read.org, ...write.org, ...read.user, ...write.user, ...read.project, ...write.project];

export const defaultRoleTable: Record<string, string[]> = {
  IAM_OWNER: [...read.iam, ...write.iam, 'org.create', 'org.global.read', 'user.global.read', ...orgAll],
  IAM_OWNER_VIEWER: [...read.iam, 'org.global.read', 'user.global.read', ...read.org, ...read.user, ...read.project],
  IAM_ORG_MANAGER: ['iam.read', 'iam.policy.read', 'org.create', 'org.global.read', 'user.global.read', ...orgAll],
  IAM_USER_MANAGER: ['iam.read', 'org.global.read', 'user.global.read', 'org.read', ...read.user, ...write.user, 'project.read', 'project.role.read', 'project.grant.read'],
  ORG_OWNER: orgAll,
  ORG_OWNER_VIEWER: [...read.org, ...read.user, ...read.project],
  ORG_USER_MANAGER: ['org.read', ...read.user, ...write.user, 'project.read', 'project.role.read', 'project.grant.read'],
  ORG_USER_PERMISSION_EDITOR: ['org.read', 'org.member.read', 'user.read', 'user.grant.read', 'user.grant.write', 'user.grant.delete', 'user.membership.read',
    'project.read', 'project.role.read', 'project.grant.read'],
  ORG_PROJECT_PERMISSION_EDITOR: ['org.read', 'project.read', 'project.role.read', 'project.member.read', 'project.member.write',
    'project.grant.read', 'project.grant.write', 'project.grant.delete', 'project.grant.member.read', 'project.grant.member.write'],
  ORG_PROJECT_CREATOR: ['org.read', 'project.create'],
  PROJECT_OWNER: [...read.project, 'project.write', 'project.delete', 'project.member.write', 'project.role.write', 'project.role.delete',
    'project.app.write', 'project.app.delete', 'project.grant.write', 'project.grant.delete', 'project.grant.member.write',
    'user.read', 'user.grant.read', 'user.grant.write', 'user.grant.delete'],
  PROJECT_OWNER_VIEWER: [...read.project, 'user.read', 'user.grant.read'],
  PROJECT_OWNER_GLOBAL: [...read.project, 'project.write', 'project.delete', 'project.member.write', 'project.role.write', 'project.role.delete',
    'project.app.write', 'project.app.delete', 'project.grant.write', 'project.grant.delete', 'project.grant.member.write',
    'user.read', 'user.global.read', 'user.grant.read', 'user.grant.write', 'user.grant.delete'],
  PROJECT_OWNER_VIEWER_GLOBAL: [...read.project, 'user.read', 'user.global.read', 'user.grant.read'],
  PROJECT_GRANT_OWNER: ['project.read', 'project.role.read', 'project.grant.read', 'project.grant.member.read', 'project.grant.member.write',
    'user.read', 'user.grant.read', 'user.grant.write', 'user.grant.delete'],
};

export const roleLevels: Record<string, 'instance' | 'org' | 'project' | 'project_grant'> = {
  IAM_OWNER: 'instance', IAM_OWNER_VIEWER: 'instance', IAM_ORG_MANAGER: 'instance', IAM_USER_MANAGER: 'instance',
  ORG_OWNER: 'org', ORG_OWNER_VIEWER: 'org', ORG_USER_MANAGER: 'org', ORG_USER_PERMISSION_EDITOR: 'org',
  ORG_PROJECT_PERMISSION_EDITOR: 'org', ORG_PROJECT_CREATOR: 'org',
  PROJECT_OWNER: 'project', PROJECT_OWNER_VIEWER: 'project', PROJECT_OWNER_GLOBAL: 'project', PROJECT_OWNER_VIEWER_GLOBAL: 'project',
  PROJECT_GRANT_OWNER: 'project_grant',
};

/** The built-in table with the configuration's `roles:` entries laid over it. */
export function effectiveRoleTable(overrides: Record<string, string[]>): Record<string, Set<string>> {
  const merged = { ...defaultRoleTable, ...overrides };
  return Object.fromEntries(Object.entries(merged).map(([role, perms]) => [role, new Set(perms)]));
}
