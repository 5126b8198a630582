import type { Runtime } from '../../src/runtime/index.js';
import type { ServiceContext } from '../../src/domain/deps.js';
import { testInstance, testRuntime } from '../support/runtime.js';
import { accessSnapshot, seedScenario, type SeedOrg, type SeedScenario } from '../support/seed.js';
import { createHumanUser } from '../../src/domain/user/service.js';
import { insertMembership, type MembershipLevel } from '../../src/domain/membership/repository.js';
import { createProject, deactivateProject, deleteProject, getProject, updateProject } from '../../src/domain/project/service.js';
import { addProjectRole, removeProjectRole, updateProjectRole } from '../../src/domain/project/roles.js';
import { createApplication, deleteApplication, regenerateClientSecret, updateApplication } from '../../src/domain/project/applications.js';
import { deactivateProjectGrant, grantProject, removeProjectGrant, updateProjectGrantRoles } from '../../src/domain/project-grant/service.js';
import { addUserGrant, deactivateUserGrant, getUserGrant, removeUserGrant, updateUserGrant } from '../../src/domain/user-grant/service.js';
import { createOrg } from '../../src/domain/org/service.js';

let rt: Runtime;
beforeAll(async () => {
  rt = await testRuntime();
});
afterAll(async () => {
  await rt.close();
});

interface World {
  s: SeedScenario;
  as: (who: string) => ServiceContext;
  carl: string;
}

/**
 * The seed plus managers: owners of ACME, Beta and Alpha, ACME's PROJECT_OWNER of Time
 * Tracking, PROJECT_GRANT_OWNERs of Beta's and Alpha's grants, and an unprivileged user.
 * Carl is a Beta user without grants, for new authorizations.
 */
async function world(): Promise<World> {
  const s = await seedScenario(rt, await testInstance(rt, 'Perms'));
  const tt = s.projects.timeTracking.id;
  const actors: Record<string, { userId: string; orgId: string }> = {};
  const manager = async (
    name: string,
    org: SeedOrg,
    level: MembershipLevel,
    roles: string[],
    where: { org_id?: string; project_id?: string; project_grant_id?: string },
  ) => {
    const { id } = await createHumanUser(s.ctx, { orgId: org.id, username: name, email: `${name}@example.com` });
    if (roles.length) {
      await insertMembership(s.ctx.scope, {
        user_id: id,
        level,
        org_id: where.org_id ?? null,
        project_id: where.project_id ?? null,
        project_grant_id: where.project_grant_id ?? null,
        roles,
      });
    }
    actors[name] = { userId: id, orgId: org.id };
  };
  await manager('acme-owner', s.orgs.acme, 'org', ['ORG_OWNER'], { org_id: s.orgs.acme.id });
  await manager('beta-owner', s.orgs.beta, 'org', ['ORG_OWNER'], { org_id: s.orgs.beta.id });
  await manager('alpha-owner', s.orgs.alpha, 'org', ['ORG_OWNER'], { org_id: s.orgs.alpha.id });
  await manager('tt-owner', s.orgs.acme, 'project', ['PROJECT_OWNER'], { project_id: tt });
  await manager('beta-grant-owner', s.orgs.beta, 'project_grant', ['PROJECT_GRANT_OWNER'], {
    project_id: tt,
    project_grant_id: s.projectGrants.timeTrackingToBeta,
  });
  await manager('alpha-grant-owner', s.orgs.alpha, 'project_grant', ['PROJECT_GRANT_OWNER'], {
    project_id: tt,
    project_grant_id: s.projectGrants.timeTrackingToAlpha,
  });
  await manager('acme-creator', s.orgs.acme, 'org', ['ORG_PROJECT_CREATOR'], { org_id: s.orgs.acme.id });
  await manager('nobody', s.orgs.beta, 'org', [], {});
  const { id: carl } = await createHumanUser(s.ctx, { orgId: s.orgs.beta.id, username: 'carl', email: 'carl@example.com' });
  const as = (who: string): ServiceContext => ({ ...s.ctx, actor: { type: 'user', ...actors[who] } });
  return { s, as, carl };
}

/** Refused for lack of permission, with every access row and the audit trail unchanged. */
async function denied(s: SeedScenario, write: () => Promise<unknown>): Promise<void> {
  const before = await accessSnapshot(s.ctx.scope);
  await expect(write()).rejects.toMatchObject({ code: 'permission_denied' });
  expect(await accessSnapshot(s.ctx.scope)).toEqual(before);
}

test("a granted org's owner cannot change the granted project, its roles, apps or grants", async () => {
  const { s, as } = await world();
  const ctx = as('beta-owner');
  const tt = s.projects.timeTracking;
  await denied(s, () => updateProject(ctx, tt.id, { name: 'Renamed by Beta' }));
  await denied(s, () => deactivateProject(ctx, tt.id));
  await denied(s, () => deleteProject(ctx, tt.id));
  await denied(s, () => addProjectRole(ctx, tt.id, { key: 'Boss', displayName: 'Boss' }));
  await denied(s, () => updateProjectRole(ctx, tt.id, 'Developer', { displayName: 'Dev' }));
  await denied(s, () => removeProjectRole(ctx, tt.id, 'Developer'));
  await denied(s, () => createApplication(ctx, tt.id, { name: 'Beta app', appType: 'web', authMethod: 'none', redirectUris: ['https://beta.example/cb'] }));
  await denied(s, () => updateApplication(ctx, tt.app.id, { redirectUris: ['https://evil.example/cb'] }));
  await denied(s, () => regenerateClientSecret(ctx, tt.app.id));
  await denied(s, () => deleteApplication(ctx, tt.app.id));
  await denied(s, () => grantProject(ctx, { projectId: tt.id, grantedOrgId: s.orgs.demoCustomer.id, roleKeys: [] }));
  await denied(s, () => updateProjectGrantRoles(ctx, s.projectGrants.timeTrackingToBeta, ['Accountant', 'Developer']));
  await denied(s, () => deactivateProjectGrant(ctx, s.projectGrants.timeTrackingToAlpha));
  await denied(s, () => removeProjectGrant(ctx, s.projectGrants.timeTrackingToBeta));
  // ...but gives the roles it received, to its own users or other orgs' users.
  const { id } = await addUserGrant(ctx, { userId: s.users.eric.id, projectId: tt.id, orgId: s.orgs.beta.id, roleKeys: ['Accountant'] });
  await updateUserGrant(ctx, s.userGrants.aliceAccountant, { roleKeys: ['Accountant', 'Developer'] });
  await removeUserGrant(ctx, id);
});

test("the owner org's managers run the project but not the authorizations a granted org gave", async () => {
  const { s, as, carl } = await world();
  const tt = s.projects.timeTracking;
  for (const who of ['acme-owner', 'tt-owner']) {
    const ctx = as(who);
    await updateProject(ctx, tt.id, { projectRoleAssertion: who === 'acme-owner' });
    await addProjectRole(ctx, tt.id, { key: `role-${who}`, displayName: who });
    await updateProjectGrantRoles(ctx, s.projectGrants.timeTrackingToAlpha, ['Accountant']);
    await denied(s, () => updateUserGrant(ctx, s.userGrants.aliceAccountant, { roleKeys: [] }));
    await denied(s, () => removeUserGrant(ctx, s.userGrants.bobDeveloper));
    await denied(s, () => deactivateUserGrant(ctx, s.userGrants.bobDeveloper));
    await denied(s, () => addUserGrant(ctx, { userId: carl, projectId: tt.id, orgId: s.orgs.beta.id, roleKeys: ['Developer'] }));
  }
  // Their own (owner-given) authorizations they do manage.
  const { id } = await addUserGrant(as('tt-owner'), { userId: carl, projectId: tt.id, orgId: s.orgs.acme.id, roleKeys: ['Developer'] });
  await removeUserGrant(as('acme-owner'), id);
  // A project owner's reach ends at the project: not the org's other projects.
  const { id: other } = await createProject(s.ctx, { orgId: s.orgs.acme.id, name: 'Other' });
  await denied(s, () => updateProject(as('tt-owner'), other, { name: 'Nope' }));
});

test('a PROJECT_GRANT_OWNER acts on its own grant only', async () => {
  const { s, as, carl } = await world();
  const ctx = as('beta-grant-owner');
  const tt = s.projects.timeTracking;
  const { id } = await addUserGrant(ctx, { userId: carl, projectId: tt.id, orgId: s.orgs.beta.id, roleKeys: ['Developer'] });
  expect(await getUserGrant(s.ctx.scope, id)).toMatchObject({ project_grant_id: s.projectGrants.timeTrackingToBeta });
  await updateUserGrant(ctx, s.userGrants.aliceAccountant, { roleKeys: ['Developer'] });
  await deactivateUserGrant(ctx, s.userGrants.bobDeveloper);
  await removeUserGrant(ctx, id);
  // Not another org's grant, not the owner's authorizations, not the grant itself, not the project.
  await denied(s, () => addUserGrant(ctx, { userId: carl, projectId: tt.id, orgId: s.orgs.alpha.id, roleKeys: ['Developer'] }));
  await denied(s, () => addUserGrant(ctx, { userId: carl, projectId: tt.id, orgId: s.orgs.acme.id, roleKeys: ['Developer'] }));
  await denied(s, () => updateProjectGrantRoles(ctx, s.projectGrants.timeTrackingToBeta, ['Accountant', 'Developer']));
  await denied(s, () => removeProjectGrant(ctx, s.projectGrants.timeTrackingToBeta));
  await denied(s, () => updateProject(ctx, tt.id, { name: 'Nope' }));
  await denied(s, () => addProjectRole(ctx, tt.id, { key: 'x', displayName: 'x' }));
  const alphaCtx = as('alpha-grant-owner');
  await denied(s, () => removeUserGrant(alphaCtx, s.userGrants.aliceAccountant));
  await addUserGrant(alphaCtx, { userId: carl, projectId: tt.id, orgId: s.orgs.alpha.id, roleKeys: ['Accountant'] });
});

test("an org's owner cannot touch the authorizations another org gave its users", async () => {
  const { s, as } = await world();
  // Alice is Alpha's user, but her Accountant role was given by Beta.
  await denied(s, () => removeUserGrant(as('alpha-owner'), s.userGrants.aliceAccountant));
  await denied(s, () => updateUserGrant(as('alpha-owner'), s.userGrants.aliceAccountant, { roleKeys: [] }));
});

test('creating projects needs project.create in that org; an org without a grant is refused without revealing more', async () => {
  const { s, as } = await world();
  // A project creator becomes the new project's PROJECT_OWNER, so it can go on to add roles and apps.
  const { id: created } = await createProject(as('acme-creator'), { orgId: s.orgs.acme.id, name: 'Created' });
  await addProjectRole(as('acme-creator'), created, { key: 'r', displayName: 'R' });
  await denied(s, () => updateProject(as('acme-creator'), s.projects.timeTracking.id, { name: 'Nope' }));
  // An org owner already manages it and gets no extra membership.
  const { id: byOwner } = await createProject(as('acme-owner'), { orgId: s.orgs.acme.id, name: 'By owner' });
  expect(await s.ctx.scope.table('memberships').where({ project_id: byOwner })).toEqual([]);
  await denied(s, () => createProject(as('acme-creator'), { orgId: s.orgs.beta.id, name: 'Elsewhere' }));
  await denied(s, () => createProject(as('nobody'), { orgId: s.orgs.beta.id, name: 'Nope' }));
  // An outsider asking to give roles from an org that holds no grant learns only "denied".
  const { id: gamma } = await createOrg(s.ctx, { name: 'Gamma' });
  await denied(s, () => addUserGrant(as('beta-owner'), { userId: s.users.bob.id, projectId: s.projects.portal.id, orgId: gamma, roleKeys: [] }));
  await expect(
    addUserGrant(as('beta-owner'), { userId: s.users.bob.id, projectId: s.projects.portal.id, orgId: s.orgs.beta.id, roleKeys: [] }),
  ).rejects.toMatchObject({ reason: 'user_grant.org_not_granted' });
  expect(await getProject(s.ctx.scope, s.projects.timeTracking.id)).toMatchObject({ name: 'Time Tracking' });
});
