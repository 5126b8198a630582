import type { Runtime } from '../../src/runtime/index.js';
import { testInstance, testRuntime } from '../support/runtime.js';
import { accessSnapshot, seedScenario } from '../support/seed.js';
import * as projects from '../../src/domain/project/repository.js';
import * as projectGrants from '../../src/domain/project-grant/repository.js';
import * as userGrants from '../../src/domain/user-grant/repository.js';
import { activeRoleGrants, userHasProjectAccess } from '../../src/domain/user-grant/repository.js';
import { addUserGrant } from '../../src/domain/user-grant/service.js';
import { grantProject } from '../../src/domain/project-grant/service.js';
import { removeProjectRole } from '../../src/domain/project/roles.js';
import { createApplication } from '../../src/domain/project/applications.js';

let rt: Runtime;
beforeAll(async () => {
  rt = await testRuntime();
});
afterAll(async () => {
  await rt.close();
});

test("no access repository or service call through one instance reads or writes another instance's rows", async () => {
  const a = await seedScenario(rt, await testInstance(rt, 'A'));
  const b = await seedScenario(rt, await testInstance(rt, 'B'));
  const foreign = b.ctx.scope; // instance B, handed A's ids
  const before = await accessSnapshot(a.ctx.scope);
  const tt = a.projects.timeTracking;

  // reads
  expect(await projects.getProject(foreign, tt.id)).toBeUndefined();
  expect(await projects.listProjects(foreign, { orgId: a.orgs.acme.id })).toEqual([]);
  expect(await projects.findProjectByName(foreign, a.orgs.acme.id, 'Time Tracking')).toBeUndefined();
  expect(await projects.listProjectRoles(foreign, tt.id)).toEqual([]);
  expect(await projects.getProjectRole(foreign, tt.id, 'Developer')).toBeUndefined();
  expect(await projects.getApplication(foreign, tt.app.id)).toBeUndefined();
  expect(await projects.findApplicationByClientId(foreign, tt.app.clientId)).toBeUndefined();
  expect(await projects.listApplications(foreign, tt.id)).toEqual([]);
  expect(await projectGrants.getProjectGrant(foreign, a.projectGrants.timeTrackingToBeta)).toBeUndefined();
  expect(await projectGrants.findProjectGrant(foreign, tt.id, a.orgs.beta.id)).toBeUndefined();
  expect(await projectGrants.listProjectGrants(foreign, { projectId: tt.id })).toEqual([]);
  expect(await projectGrants.listGrantedProjects(foreign, a.orgs.beta.id)).toEqual([]);
  expect(await userGrants.getUserGrant(foreign, a.userGrants.bobDeveloper)).toBeUndefined();
  expect(await userGrants.findUserGrant(foreign, a.users.bob.id, tt.id, a.orgs.beta.id)).toBeUndefined();
  expect(await userGrants.listUserGrants(foreign, { userId: a.users.bob.id })).toEqual([]);
  expect(await userGrants.listUserGrants(foreign, { userOrgId: a.orgs.alpha.id })).toEqual([]);
  expect(await activeRoleGrants(foreign, a.users.bob.id, [tt.id])).toEqual([]);
  expect(await userHasProjectAccess(foreign, { userId: a.users.eric.id, projectId: a.projects.portal.id })).toBe(false);
  expect(await userHasProjectAccess(foreign, { userId: 'x', userOrgId: a.orgs.demoVendor.id, projectId: a.projects.portal.id })).toBe(false);

  // writes
  expect(await projects.updateProjectRow(foreign, tt.id, { name: 'x' })).toBe(0);
  expect(await projects.updateProjectRoleRow(foreign, tt.id, 'Developer', { display_name: 'x' })).toBe(0);
  expect(await projects.deleteProjectRoleRow(foreign, tt.id, 'Developer')).toBe(0);
  expect(await projects.stripRolesFromProjectGrants(foreign, tt.id, ['Developer'])).toBe(0);
  expect(await projects.stripRolesFromUserGrants(foreign, tt.id, ['Developer'])).toBe(0);
  expect(await projects.updateApplicationRow(foreign, tt.app.id, { name: 'x' })).toBe(0);
  expect(await projects.deleteApplicationRow(foreign, tt.app.id)).toBe(0);
  expect(await projectGrants.updateProjectGrantRow(foreign, a.projectGrants.timeTrackingToBeta, { role_keys: [] })).toBe(0);
  expect(await userGrants.updateUserGrantRow(foreign, a.userGrants.bobDeveloper, { role_keys: [] })).toBe(0);
  expect(await userGrants.deleteUserGrantRow(foreign, a.userGrants.bobDeveloper)).toBe(0);
  expect(await userGrants.deleteUserGrantsOfProjectGrant(foreign, a.projectGrants.timeTrackingToBeta)).toBe(0);
  expect(await projectGrants.deleteProjectGrantRow(foreign, a.projectGrants.timeTrackingToBeta)).toBe(0);
  expect(await projects.deleteProjectRow(foreign, tt.id)).toBe(0);

  // services find nothing of A's
  await expect(addUserGrant(b.ctx, { userId: b.users.bob.id, projectId: tt.id, orgId: a.orgs.acme.id, roleKeys: [] })).rejects.toMatchObject({
    reason: 'project.not_found',
  });
  await expect(
    addUserGrant(b.ctx, { userId: a.users.bob.id, projectId: b.projects.timeTracking.id, orgId: b.orgs.acme.id, roleKeys: [] }),
  ).rejects.toMatchObject({ reason: 'user.not_found' });
  await expect(grantProject(b.ctx, { projectId: b.projects.timeTracking.id, grantedOrgId: a.orgs.demoCustomer.id, roleKeys: [] })).rejects.toMatchObject({
    reason: 'org.not_found',
  });
  await expect(removeProjectRole(b.ctx, tt.id, 'Developer')).rejects.toMatchObject({ reason: 'project.not_found' });
  await expect(
    createApplication(b.ctx, tt.id, { name: 'x', appType: 'web', authMethod: 'none', redirectUris: ['https://x.example/cb'] }),
  ).rejects.toMatchObject({ reason: 'project.not_found' });

  // and PostgreSQL itself refuses a row that points across instances
  await expect(
    userGrants.insertUserGrant(foreign, {
      id: 'cross',
      user_id: a.users.bob.id,
      project_id: b.projects.timeTracking.id,
      org_id: b.orgs.acme.id,
      project_grant_id: null,
      role_keys: [],
    }),
  ).rejects.toMatchObject({ code: '23503' });
  await expect(
    projectGrants.insertProjectGrant(foreign, {
      id: 'cross',
      project_id: b.projects.timeTracking.id,
      granted_org_id: a.orgs.demoCustomer.id,
      role_keys: [],
    }),
  ).rejects.toMatchObject({ code: '23503' });

  expect(await accessSnapshot(a.ctx.scope)).toEqual(before);
});
