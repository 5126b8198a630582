import { testInstance, testRuntime, type TestInstance } from '../support/runtime.js';
import type { Runtime } from '../../src/runtime/index.js';
import { createOrg } from '../../src/domain/org/service.js';
import { canReadUser, createHumanUser, deactivateUser, lockUser, setPassword, unlockUser } from '../../src/domain/user/service.js';
import { addMember, changeMemberRoles, listMembers, removeMember } from '../../src/domain/membership/service.js';
import { createProject } from '../../src/domain/project/service.js';
import { addProjectRoles } from '../../src/domain/project/roles.js';
import { grantProject } from '../../src/domain/project-grant/service.js';
import { isAllowed } from '../../src/domain/authorization.js';
import { contexts, lastEvent, snapshot } from './identity-support.js';

let rt: Runtime;
beforeAll(async () => {
  rt = await testRuntime();
});
afterAll(async () => {
  await rt.close();
});

let inst: TestInstance;
let c: ReturnType<typeof contexts>;
let vendor: string, customer: string, project: string, grant: string;
let orgOwner: string, projectOwner: string, grantOwner: string, plain: string;

beforeEach(async () => {
  inst = await testInstance(rt, 'Members');
  c = contexts(rt, inst);
  const sys = c.system();
  vendor = (await createOrg(sys, { name: 'Vendor' })).id;
  customer = (await createOrg(sys, { name: 'Customer' })).id;
  project = (await createProject(sys, { orgId: vendor, name: 'Portal' })).id;
  await addProjectRoles(sys, project, [{ key: 'reader', displayName: 'Reader' }]);
  grant = (await grantProject(sys, { projectId: project, grantedOrgId: customer, roleKeys: ['reader'] })).id;
  const user = async (orgId: string, username: string) => (await createHumanUser(sys, { orgId, username, email: `${username}@example.com` })).id;
  orgOwner = await user(vendor, 'orgowner');
  projectOwner = await user(vendor, 'projowner');
  grantOwner = await user(customer, 'grantowner');
  plain = await user(customer, 'plain');
  await addMember(sys, { userId: orgOwner, level: 'org', orgId: vendor, roles: ['ORG_OWNER'] });
  await addMember(sys, { userId: projectOwner, level: 'project', projectId: project, roles: ['PROJECT_OWNER'] });
  await addMember(sys, { userId: grantOwner, level: 'project_grant', projectId: project, projectGrantId: grant, roles: ['PROJECT_GRANT_OWNER'] });
});

test('a membership grants its permissions on its resource, and is audited', async () => {
  const m = await addMember(c.as(orgOwner, vendor), { userId: plain, level: 'org', orgId: vendor, roles: ['ORG_USER_MANAGER'] });
  expect(await lastEvent(inst)).toMatchObject({ type: 'org.member.added', actor_id: orgOwner, resource_type: 'membership', resource_id: m.id, org_id: vendor });
  const asPlain = c.as(plain, customer);
  expect(await isAllowed(asPlain, 'user.write', { orgId: vendor })).toBe(true);
  expect(await isAllowed(asPlain, 'org.write', { orgId: vendor })).toBe(false);
  await changeMemberRoles(c.as(orgOwner, vendor), m.id, ['ORG_OWNER_VIEWER']);
  expect(await isAllowed(asPlain, 'user.write', { orgId: vendor })).toBe(false);
  expect(await isAllowed(asPlain, 'org.read', { orgId: vendor })).toBe(true);
  await removeMember(c.as(orgOwner, vendor), m.id);
  expect(await isAllowed(asPlain, 'org.read', { orgId: vendor })).toBe(false);
});

test('a locked or deactivated manager holds no permissions until restored', async () => {
  const asOwner = c.as(orgOwner, vendor);
  await lockUser(c.system(), orgOwner);
  expect(await isAllowed(asOwner, 'org.write', { orgId: vendor })).toBe(false);
  await expect(addMember(asOwner, { userId: plain, level: 'org', orgId: vendor, roles: ['ORG_OWNER'] })).rejects.toMatchObject({ code: 'permission_denied' });
  await unlockUser(c.system(), orgOwner);
  expect(await isAllowed(asOwner, 'org.write', { orgId: vendor })).toBe(true);
  await deactivateUser(c.system(), orgOwner);
  expect(await isAllowed(asOwner, 'org.write', { orgId: vendor })).toBe(false);
});

test('users of another org are readable only with user.global.read', async () => {
  const customerUser = { org_id: customer };
  expect(await canReadUser(c.as(orgOwner, vendor), { org_id: vendor })).toBe(true);
  expect(await canReadUser(c.as(orgOwner, vendor), customerUser)).toBe(false);
  expect(await canReadUser(c.as(projectOwner, vendor), { org_id: vendor })).toBe(false);
  expect(await canReadUser(c.admin(), customerUser)).toBe(true);
  await addMember(c.system(), { userId: plain, level: 'instance', roles: ['IAM_USER_MANAGER'] });
  expect(await canReadUser(c.as(plain, customer), { org_id: vendor })).toBe(true);
});

test('roles must exist and match the level', async () => {
  await expect(addMember(c.system(), { userId: plain, level: 'org', orgId: vendor, roles: ['NOT_A_ROLE'] })).rejects.toMatchObject({
    reason: 'membership.unknown_role',
  });
  await expect(addMember(c.system(), { userId: plain, level: 'org', orgId: vendor, roles: ['PROJECT_OWNER'] })).rejects.toMatchObject({
    reason: 'membership.role_level',
  });
  await expect(addMember(c.system(), { userId: plain, level: 'project', projectId: project, roles: [] })).rejects.toMatchObject({ code: 'invalid_input' });
  await expect(addMember(c.system(), { userId: plain, level: 'project', projectId: 'nope', roles: ['PROJECT_OWNER'] })).rejects.toMatchObject({
    code: 'not_found',
  });
});

test('a user is a member once per place; a second add is refused', async () => {
  await expect(addMember(c.system(), { userId: orgOwner, level: 'org', orgId: vendor, roles: ['ORG_OWNER_VIEWER'] })).rejects.toMatchObject({
    reason: 'membership.exists',
  });
});

test('a role added in configuration can be handed out at the level its name says', async () => {
  const custom = await testRuntime({ roles: { ORG_AUDITOR: ['org.read', 'events.read'] } });
  try {
    const ctx = { ...c.system(), deps: custom.deps };
    const { id } = await addMember(ctx, { userId: plain, level: 'org', orgId: vendor, roles: ['ORG_AUDITOR'] });
    expect(await isAllowed({ ...c.as(plain, customer), deps: custom.deps }, 'events.read', { orgId: vendor })).toBe(true);
    expect((await listMembers(inst.scope, { userId: plain })).map((m) => m.id)).toEqual([id]);
  } finally {
    await custom.close();
  }
});

describe('escalation guard: nobody adds a membership at a level whose member.write they lack', () => {
  test.each<[string, () => string, () => Parameters<typeof addMember>[1]]>([
    ['an ORG_OWNER adding an IAM_OWNER', () => orgOwner, () => ({ userId: plain, level: 'instance', roles: ['IAM_OWNER'] })],
    ['an ORG_OWNER adding an owner of another org', () => orgOwner, () => ({ userId: plain, level: 'org', orgId: customer, roles: ['ORG_OWNER'] })],
    ['a PROJECT_OWNER adding an ORG_OWNER', () => projectOwner, () => ({ userId: plain, level: 'org', orgId: vendor, roles: ['ORG_OWNER'] })],
    [
      'a PROJECT_GRANT_OWNER adding a PROJECT_OWNER',
      () => grantOwner,
      () => ({ userId: plain, level: 'project', projectId: project, roles: ['PROJECT_OWNER'] }),
    ],
    ['a plain user adding anything', () => plain, () => ({ userId: plain, level: 'project_grant', projectGrantId: grant, roles: ['PROJECT_GRANT_OWNER'] })],
  ])('%s is refused and changes nothing', async (_name, actor, input) => {
    const before = await snapshot(rt, inst.instanceId);
    await expect(addMember(c.as(actor(), vendor), input())).rejects.toMatchObject({ code: 'permission_denied' });
    expect(await snapshot(rt, inst.instanceId)).toEqual(before);
  });

  test.each<[string, () => string, () => Parameters<typeof addMember>[1]]>([
    [
      "an ORG_OWNER adds a PROJECT_OWNER of its org's project",
      () => orgOwner,
      () => ({ userId: plain, level: 'project', projectId: project, roles: ['PROJECT_OWNER'] }),
    ],
    [
      'a PROJECT_OWNER adds a PROJECT_GRANT_OWNER on a grant of its project',
      () => projectOwner,
      () => ({ userId: plain, level: 'project_grant', projectGrantId: grant, roles: ['PROJECT_GRANT_OWNER'] }),
    ],
    [
      'a PROJECT_GRANT_OWNER adds another owner of its grant',
      () => grantOwner,
      () => ({ userId: plain, level: 'project_grant', projectGrantId: grant, roles: ['PROJECT_GRANT_OWNER'] }),
    ],
    ['the IAM_OWNER adds another IAM_OWNER', () => inst.adminUserId, () => ({ userId: plain, level: 'instance', roles: ['IAM_OWNER'] })],
  ])('%s', async (_name, actor, input) => {
    await expect(addMember(c.as(actor(), vendor), input())).resolves.toHaveProperty('id');
  });

  test('an ORG_OWNER cannot remove or change the IAM_OWNER membership', async () => {
    const [iam] = await listMembers(inst.scope, { level: 'instance' });
    await expect(changeMemberRoles(c.as(orgOwner, vendor), iam.id, ['IAM_OWNER_VIEWER'])).rejects.toMatchObject({ code: 'permission_denied' });
    await expect(removeMember(c.as(orgOwner, vendor), iam.id)).rejects.toMatchObject({ code: 'permission_denied' });
  });
});

test('the last IAM_OWNER membership cannot be removed or demoted', async () => {
  const [iam] = await listMembers(inst.scope, { level: 'instance', role: 'IAM_OWNER' });
  await expect(removeMember(c.system(), iam.id)).rejects.toMatchObject({ reason: 'membership.last_iam_owner' });
  await expect(changeMemberRoles(c.system(), iam.id, ['IAM_OWNER_VIEWER'])).rejects.toMatchObject({ reason: 'membership.last_iam_owner' });
  // A user who cannot log in yet (initial, no password) does not count as a successor.
  await addMember(c.system(), { userId: plain, level: 'instance', roles: ['IAM_OWNER'] });
  await expect(removeMember(c.system(), iam.id)).rejects.toMatchObject({ reason: 'membership.last_iam_owner' });
  await setPassword(c.system(), plain, 'Successor-1');
  await removeMember(c.system(), iam.id);
  expect(await listMembers(inst.scope, { level: 'instance' })).toEqual([expect.objectContaining({ user_id: plain })]);
});
