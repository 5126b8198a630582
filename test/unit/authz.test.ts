import { can, roleTableFor, type Resource } from '../../src/authz/index.js';
import { defaultRoleTable, permissionNames, roleLevels, type MembershipLevel } from '../../src/authz/roles.js';

// Org A owns projects P1 and P2; P1 is granted to org B by grant G1, and to org C by grant G2.
const A = 'org-a',
  B = 'org-b',
  P1 = 'p1',
  P2 = 'p2',
  G1 = 'g1',
  G2 = 'g2';

/** Where each role is held in the table below: at its level, on org A / project P1 / grant G1. */
function membershipFor(role: string) {
  const level: MembershipLevel = roleLevels[role];
  return {
    level,
    org_id: level === 'org' ? A : null,
    project_id: level === 'project' || level === 'project_grant' ? P1 : null,
    project_grant_id: level === 'project_grant' ? G1 : null,
    roles: [role],
  };
}

const instance: Resource = {};
const orgA: Resource = { orgId: A };
const orgB: Resource = { orgId: B };
const p1: Resource = { orgId: A, projectId: P1 };
const p2: Resource = { orgId: A, projectId: P2 };
const g1: Resource = { orgId: A, projectId: P1, projectGrantId: G1 };
const g2: Resource = { orgId: A, projectId: P1, projectGrantId: G2 };
/** A user grant that org B gives under grant G1: it lives in B's context, not the project's. */
const grantSideB: Resource = { orgId: B, projectGrantId: G1 };
const grantSideC: Resource = { orgId: 'org-c', projectGrantId: G2 };

type Row = [role: string, permission: string, resource: Resource, where: string, allowed: boolean];

const table: Row[] = [
  ['IAM_OWNER', 'org.create', instance, 'instance', true],
  ['IAM_OWNER', 'iam.member.write', instance, 'instance', true],
  ['IAM_OWNER', 'iam.domain.write', instance, 'instance', true],
  ['IAM_OWNER', 'org.write', orgB, 'any org', true],
  ['IAM_OWNER', 'user.grant.write', grantSideB, 'a grant-side user grant', true],
  ['IAM_OWNER', 'user.global.read', instance, 'instance', true],
  ['IAM_OWNER_VIEWER', 'iam.read', instance, 'instance', true],
  ['IAM_OWNER_VIEWER', 'org.read', orgB, 'any org', true],
  ['IAM_OWNER_VIEWER', 'iam.write', instance, 'instance', false],
  ['IAM_OWNER_VIEWER', 'iam.domain.write', instance, 'instance', false],
  ['IAM_OWNER_VIEWER', 'org.write', orgA, 'an org', false],
  ['IAM_OWNER_VIEWER', 'user.write', orgA, 'an org', false],
  ['IAM_ORG_MANAGER', 'org.create', instance, 'instance', true],
  ['IAM_ORG_MANAGER', 'org.delete', orgB, 'any org', true],
  ['IAM_ORG_MANAGER', 'iam.member.write', instance, 'instance', false],
  ['IAM_ORG_MANAGER', 'iam.domain.write', instance, 'instance', false],
  ['IAM_ORG_MANAGER', 'iam.policy.write', instance, 'instance', false],
  ['IAM_USER_MANAGER', 'user.write', orgB, 'any org', true],
  ['IAM_USER_MANAGER', 'user.global.read', instance, 'instance', true],
  ['IAM_USER_MANAGER', 'org.write', orgA, 'an org', false],
  ['IAM_USER_MANAGER', 'project.write', p1, 'a project', false],
  ['ORG_OWNER', 'org.write', orgA, 'its org', true],
  ['ORG_OWNER', 'org.member.write', orgA, 'its org', true],
  ['ORG_OWNER', 'project.write', p1, 'a project of its org', true],
  ['ORG_OWNER', 'project.grant.write', g1, 'a grant of its project', true],
  ['ORG_OWNER', 'org.write', orgB, 'another org', false],
  ['ORG_OWNER', 'user.read', orgB, 'another org', false],
  ['ORG_OWNER', 'org.create', instance, 'instance', false],
  ['ORG_OWNER', 'iam.member.write', instance, 'instance', false],
  ['ORG_OWNER', 'user.global.read', instance, 'instance', false],
  ['ORG_OWNER', 'user.grant.write', grantSideB, 'a grant-side user grant in the granted org', false],
  ['ORG_OWNER_VIEWER', 'org.read', orgA, 'its org', true],
  ['ORG_OWNER_VIEWER', 'project.read', p1, 'a project of its org', true],
  ['ORG_OWNER_VIEWER', 'org.write', orgA, 'its org', false],
  ['ORG_OWNER_VIEWER', 'user.write', orgA, 'its org', false],
  ['ORG_USER_MANAGER', 'user.write', orgA, 'its org', true],
  ['ORG_USER_MANAGER', 'user.credential.write', orgA, 'its org', true],
  ['ORG_USER_MANAGER', 'user.write', orgB, 'another org', false],
  ['ORG_USER_MANAGER', 'org.member.write', orgA, 'its org', false],
  ['ORG_USER_MANAGER', 'project.write', p1, 'a project of its org', false],
  ['ORG_USER_PERMISSION_EDITOR', 'user.grant.write', orgA, 'its org', true],
  ['ORG_USER_PERMISSION_EDITOR', 'user.write', orgA, 'its org', false],
  ['ORG_USER_PERMISSION_EDITOR', 'user.grant.write', orgB, 'another org', false],
  ['ORG_PROJECT_PERMISSION_EDITOR', 'project.grant.write', g1, "a grant of its org's project", true],
  ['ORG_PROJECT_PERMISSION_EDITOR', 'project.member.write', p1, 'a project of its org', true],
  ['ORG_PROJECT_PERMISSION_EDITOR', 'project.write', p1, 'a project of its org', false],
  ['ORG_PROJECT_PERMISSION_EDITOR', 'user.grant.write', orgA, 'its org', false],
  ['ORG_PROJECT_CREATOR', 'project.create', orgA, 'its org', true],
  ['ORG_PROJECT_CREATOR', 'project.create', orgB, 'another org', false],
  ['ORG_PROJECT_CREATOR', 'project.write', p1, 'a project of its org', false],
  ['PROJECT_OWNER', 'project.write', p1, 'its project', true],
  ['PROJECT_OWNER', 'project.role.write', p1, 'its project', true],
  ['PROJECT_OWNER', 'project.grant.write', g1, 'a grant of its project', true],
  ['PROJECT_OWNER', 'user.grant.write', p1, 'a user grant on its project', true],
  ['PROJECT_OWNER', 'project.write', p2, 'another project of the same org', false],
  ['PROJECT_OWNER', 'user.grant.write', grantSideB, 'a grant-side user grant (no projectId)', false],
  ['PROJECT_OWNER', 'org.write', orgA, 'the owning org', false],
  ['PROJECT_OWNER', 'user.global.read', p1, 'its project', false],
  ['PROJECT_OWNER_VIEWER', 'project.read', p1, 'its project', true],
  ['PROJECT_OWNER_VIEWER', 'user.grant.read', p1, 'its project', true],
  ['PROJECT_OWNER_VIEWER', 'project.write', p1, 'its project', false],
  ['PROJECT_OWNER_VIEWER', 'user.grant.write', p1, 'its project', false],
  ['PROJECT_OWNER_GLOBAL', 'user.global.read', p1, 'its project', true],
  ['PROJECT_OWNER_GLOBAL', 'project.write', p1, 'its project', true],
  ['PROJECT_OWNER_GLOBAL', 'project.write', p2, 'another project', false],
  ['PROJECT_OWNER_VIEWER_GLOBAL', 'user.global.read', p1, 'its project', true],
  ['PROJECT_OWNER_VIEWER_GLOBAL', 'project.write', p1, 'its project', false],
  ['PROJECT_GRANT_OWNER', 'user.grant.write', grantSideB, 'a user grant under its grant', true],
  ['PROJECT_GRANT_OWNER', 'project.grant.member.write', g1, 'its grant', true],
  ['PROJECT_GRANT_OWNER', 'project.read', g1, 'its grant', true],
  ['PROJECT_GRANT_OWNER', 'user.grant.write', grantSideC, 'a user grant under another grant', false],
  ['PROJECT_GRANT_OWNER', 'project.grant.member.write', g2, 'another grant of the same project', false],
  ['PROJECT_GRANT_OWNER', 'project.read', p1, 'the project itself', false],
  ['PROJECT_GRANT_OWNER', 'project.write', g1, 'its grant', false],
  ['PROJECT_GRANT_OWNER', 'user.write', orgB, 'the granted org', false],
];

const defaults = roleTableFor({});

const rows = table.map(([role, permission, resource, where, allowed]) => [role, permission, where, allowed, resource] as const);

test.each(rows)('%s: %s on %s → allowed: %s', (role, permission, _where, allowed, resource) => {
  expect(can([membershipFor(role)], permission, resource, defaults)).toBe(allowed);
});

test('every manager role of the seed has a level and at least one row above', () => {
  const tested = new Set(table.map(([role]) => role));
  for (const role of Object.keys(defaultRoleTable)) {
    expect(roleLevels[role]).toBeDefined();
    expect(tested.has(role)).toBe(true);
  }
});

test('every permission some service may check is granted by some built-in role', () => {
  const granted = new Set(Object.values(defaultRoleTable).flat());
  expect(permissionNames.filter((p) => !granted.has(p))).toEqual([]);
});

test('no memberships allow nothing', () => {
  expect(can([], 'org.read', orgA, defaults)).toBe(false);
});

test('memberships add up: an org owner of A who is project owner elsewhere holds both', () => {
  const ms = [{ ...membershipFor('ORG_OWNER') }, { level: 'project' as const, org_id: B, project_id: 'pb', project_grant_id: null, roles: ['PROJECT_OWNER'] }];
  expect(can(ms, 'org.write', orgA, defaults)).toBe(true);
  expect(can(ms, 'project.write', { orgId: B, projectId: 'pb' }, defaults)).toBe(true);
  expect(can(ms, 'org.write', orgB, defaults)).toBe(false);
});

describe('configuration roles: overrides', () => {
  test.each<[string, string, Record<string, string[]>, string, Resource, boolean]>([
    ['narrowing ORG_OWNER to reading refuses writing', 'ORG_OWNER', { ORG_OWNER: ['org.read'] }, 'org.write', orgA, false],
    ['narrowed ORG_OWNER still reads', 'ORG_OWNER', { ORG_OWNER: ['org.read'] }, 'org.read', orgA, true],
    [
      'widening PROJECT_OWNER_VIEWER lets it write',
      'PROJECT_OWNER_VIEWER',
      { PROJECT_OWNER_VIEWER: ['project.read', 'project.write'] },
      'project.write',
      p1,
      true,
    ],
    ['an override leaves other roles alone', 'PROJECT_OWNER', { ORG_OWNER: ['org.read'] }, 'project.write', p1, true],
  ])('%s', (_name, role, overrides, permission, resource, allowed) => {
    expect(can([membershipFor(role)], permission, resource, roleTableFor(overrides))).toBe(allowed);
  });

  test('a role added in configuration grants what it lists', () => {
    const table2 = roleTableFor({ ORG_AUDITOR: ['org.read', 'events.read'] });
    const m = { level: 'org' as const, org_id: A, project_id: null, project_grant_id: null, roles: ['ORG_AUDITOR'] };
    expect(can([m], 'events.read', orgA, table2)).toBe(true);
    expect(can([m], 'org.write', orgA, table2)).toBe(false);
  });
});
