import type { Runtime } from '../../src/runtime/index.js';
import { Scope } from '../../src/db/scope.js';
import { testInstance, testRuntime } from '../support/runtime.js';
import { accessSnapshot, seedScenario, type SeedScenario } from '../support/seed.js';
import { backendPid, someoneWaitsFor } from '../support/locks.js';
import {
  deactivateProjectGrant,
  getProjectGrant,
  grantProject,
  listGrantedProjects,
  listProjectGrants,
  removeProjectGrant,
  updateProjectGrantRoles,
} from '../../src/domain/project-grant/service.js';
import { addUserGrant, getUserGrant, listUserGrants, removeUserGrant, updateUserGrant } from '../../src/domain/user-grant/service.js';
import { createProject } from '../../src/domain/project/service.js';
import { addProjectRole, removeProjectRole } from '../../src/domain/project/roles.js';
import { createHumanUser, deleteUser } from '../../src/domain/user/service.js';
import { deleteOrg } from '../../src/domain/org/service.js';
import { getOrg } from '../../src/domain/org/repository.js';
import { getUser } from '../../src/domain/user/repository.js';
import { insertMembership, listMembershipsOfUser } from '../../src/domain/membership/repository.js';
import { listEvents } from '../../src/domain/audit/repository.js';
import { activeRoleGrants } from '../../src/domain/user-grant/repository.js';

let rt: Runtime;
beforeAll(async () => {
  rt = await testRuntime();
});
afterAll(async () => {
  await rt.close();
});

const seeded = async (): Promise<SeedScenario> => seedScenario(rt, await testInstance(rt, 'Grants'));

/** Expects the write to be refused with `reason` and to leave every access row and the audit trail as they were. */
async function refusedUnchanged(s: SeedScenario, write: () => Promise<unknown>, reason: string): Promise<void> {
  const before = await accessSnapshot(s.ctx.scope);
  await expect(write()).rejects.toMatchObject({ reason });
  expect(await accessSnapshot(s.ctx.scope)).toEqual(before);
}

describe('project grants', () => {
  test("a grant's roles must be a subset of the project's roles", async () => {
    const s = await seeded();
    const { id: projectId } = await createProject(s.ctx, { orgId: s.orgs.acme.id, name: 'Billing' });
    await addProjectRole(s.ctx, projectId, { key: 'viewer', displayName: 'Viewer' });
    await refusedUnchanged(
      s,
      () => grantProject(s.ctx, { projectId, grantedOrgId: s.orgs.alpha.id, roleKeys: ['viewer', 'Accountant'] }),
      'project_grant.roles_not_subset',
    );
    await expect(grantProject(s.ctx, { projectId, grantedOrgId: s.orgs.alpha.id, roleKeys: ['viewer', 'ghost'] })).rejects.toMatchObject({
      code: 'rule_violation',
      details: { missing: ['ghost'] },
    });
    const { id } = await grantProject(s.ctx, { projectId, grantedOrgId: s.orgs.alpha.id, roleKeys: ['viewer', 'viewer'] });
    expect(await getProjectGrant(s.ctx.scope, id)).toMatchObject({
      project_id: projectId,
      granted_org_id: s.orgs.alpha.id,
      role_keys: ['viewer'],
      state: 'active',
    });
    expect(await listEvents(s.ctx.scope, { resourceId: id })).toEqual([
      expect.objectContaining({
        type: 'project.grant.added',
        org_id: s.orgs.acme.id,
        payload: { projectId, grantedOrgId: s.orgs.alpha.id, roleKeys: ['viewer'] },
      }),
    ]);
  });

  test('granting a project to its own org, or twice to the same org, is refused', async () => {
    const s = await seeded();
    const tt = s.projects.timeTracking.id;
    await refusedUnchanged(s, () => grantProject(s.ctx, { projectId: tt, grantedOrgId: s.orgs.acme.id, roleKeys: [] }), 'project_grant.own_org');
    await refusedUnchanged(s, () => grantProject(s.ctx, { projectId: tt, grantedOrgId: s.orgs.beta.id, roleKeys: ['Developer'] }), 'project_grant.exists');
    await expect(grantProject(s.ctx, { projectId: tt, grantedOrgId: 'nope', roleKeys: [] })).rejects.toMatchObject({ reason: 'org.not_found' });
  });

  test('concurrent double grants: exactly one wins', async () => {
    const s = await seeded();
    const { id: projectId } = await createProject(s.ctx, { orgId: s.orgs.acme.id, name: 'Race' });
    const results = await Promise.allSettled([1, 2, 3].map(() => grantProject(s.ctx, { projectId, grantedOrgId: s.orgs.beta.id, roleKeys: [] })));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    for (const r of results) if (r.status === 'rejected') expect(r.reason).toMatchObject({ reason: 'project_grant.exists' });
  });

  test('shrinking a grant removes the dropped roles from the user grants made under it, and only those', async () => {
    const s = await seeded();
    const tt = s.projects.timeTracking.id;
    const byOwner = await addUserGrant(s.ctx, { userId: s.users.alice.id, projectId: tt, orgId: s.orgs.acme.id, roleKeys: ['Accountant'] });
    const byAlpha = await addUserGrant(s.ctx, { userId: s.users.alice.id, projectId: tt, orgId: s.orgs.alpha.id, roleKeys: ['Accountant', 'Developer'] });
    await updateProjectGrantRoles(s.ctx, s.projectGrants.timeTrackingToBeta, ['Developer']);
    expect((await getProjectGrant(s.ctx.scope, s.projectGrants.timeTrackingToBeta))!.role_keys).toEqual(['Developer']);
    expect((await getUserGrant(s.ctx.scope, s.userGrants.aliceAccountant))!.role_keys).toEqual([]);
    expect((await getUserGrant(s.ctx.scope, s.userGrants.bobDeveloper))!.role_keys).toEqual(['Developer']);
    expect((await getUserGrant(s.ctx.scope, byOwner.id))!.role_keys).toEqual(['Accountant']);
    expect((await getUserGrant(s.ctx.scope, byAlpha.id))!.role_keys).toEqual(['Accountant', 'Developer']);
    expect(await listEvents(s.ctx.scope, { type: 'project.grant.changed' })).toEqual([
      expect.objectContaining({ payload: expect.objectContaining({ removedRoleKeys: ['Accountant'], userGrantsChanged: 1 }) }),
    ]);
    // Beta can no longer give what it lost.
    await refusedUnchanged(s, () => updateUserGrant(s.ctx, s.userGrants.aliceAccountant, { roleKeys: ['Accountant'] }), 'user_grant.roles_not_subset');
    await refusedUnchanged(
      s,
      () => updateProjectGrantRoles(s.ctx, s.projectGrants.timeTrackingToBeta, ['Developer', 'Boss']),
      'project_grant.roles_not_subset',
    );
  });

  test('removing a grant removes every user grant made under it', async () => {
    const s = await seeded();
    const tt = s.projects.timeTracking.id;
    const byOwner = await addUserGrant(s.ctx, { userId: s.users.bob.id, projectId: tt, orgId: s.orgs.acme.id, roleKeys: ['Accountant'] });
    const byAlpha = await addUserGrant(s.ctx, { userId: s.users.alice.id, projectId: tt, orgId: s.orgs.alpha.id, roleKeys: ['Developer'] });
    await removeProjectGrant(s.ctx, s.projectGrants.timeTrackingToBeta);
    expect(await getProjectGrant(s.ctx.scope, s.projectGrants.timeTrackingToBeta)).toBeUndefined();
    expect(await getUserGrant(s.ctx.scope, s.userGrants.bobDeveloper)).toBeUndefined();
    expect(await getUserGrant(s.ctx.scope, s.userGrants.aliceAccountant)).toBeUndefined();
    expect(await getUserGrant(s.ctx.scope, byOwner.id)).toBeDefined();
    expect(await getUserGrant(s.ctx.scope, byAlpha.id)).toBeDefined();
    expect(await listEvents(s.ctx.scope, { resourceId: s.projectGrants.timeTrackingToBeta, type: 'project.grant.removed' })).toEqual([
      expect.objectContaining({ payload: expect.objectContaining({ userGrantsRemoved: 2 }) }),
    ]);
    // Beta no longer holds a grant, so it can give nothing.
    await refusedUnchanged(
      s,
      () => addUserGrant(s.ctx, { userId: s.users.bob.id, projectId: tt, orgId: s.orgs.beta.id, roleKeys: [] }),
      'user_grant.org_not_granted',
    );
  });

  test('a granted org sees what it received: project, owner and the granted roles', async () => {
    const s = await seeded();
    expect(await listGrantedProjects(s.ctx.scope, s.orgs.demoCustomer.id)).toEqual([
      {
        projectGrantId: s.projectGrants.portalToDemoCustomer,
        projectId: s.projects.portal.id,
        projectName: 'Portal',
        projectState: 'active',
        ownerOrgId: s.orgs.demoVendor.id,
        ownerOrgName: 'Demo-Vendor',
        grantedOrgId: s.orgs.demoCustomer.id,
        roleKeys: ['reader', 'admin'],
        roles: [
          { key: 'reader', displayName: 'reader', group: null },
          { key: 'admin', displayName: 'admin', group: null },
        ],
        state: 'active',
      },
    ]);
    expect(await listGrantedProjects(s.ctx.scope, s.orgs.acme.id)).toEqual([]);
    expect((await listProjectGrants(s.ctx.scope, { projectId: s.projects.timeTracking.id })).map((g) => g.granted_org_id).sort()).toEqual(
      [s.orgs.alpha.id, s.orgs.beta.id].sort(),
    );
    expect(await listProjectGrants(s.ctx.scope, { grantedOrgId: s.orgs.beta.id })).toHaveLength(1);
  });
});

describe('user grants', () => {
  test("the owner may give any of the project's roles, to a user of any org", async () => {
    const s = await seeded();
    const { id } = await addUserGrant(s.ctx, {
      userId: s.users.eric.id,
      projectId: s.projects.timeTracking.id,
      orgId: s.orgs.acme.id,
      roleKeys: ['Accountant', 'Developer'],
    });
    expect(await getUserGrant(s.ctx.scope, id)).toMatchObject({
      org_id: s.orgs.acme.id,
      project_grant_id: null,
      role_keys: ['Accountant', 'Developer'],
      state: 'active',
      expires_at: null,
    });
  });

  test("a granted org gives only its grant's roles, and the user grant records the grant", async () => {
    const s = await seeded();
    const ug = (await getUserGrant(s.ctx.scope, s.userGrants.aliceAccountant))!;
    expect(ug).toMatchObject({ org_id: s.orgs.beta.id, project_grant_id: s.projectGrants.timeTrackingToBeta });
    expect((await getUser(s.ctx.scope, ug.user_id))!.org_id).toBe(s.orgs.alpha.id); // an external user
    const portal = s.projects.portal.id;
    const { id: frank } = await createHumanUser(s.ctx, {
      orgId: s.orgs.demoCustomer.id,
      username: 'frank',
      email: 'frank@example.com',
      password: 'Frank-Passw0rd',
    });
    await refusedUnchanged(
      s,
      () => addUserGrant(s.ctx, { userId: frank, projectId: portal, orgId: s.orgs.demoCustomer.id, roleKeys: ['reader', 'support:read'] }),
      'user_grant.roles_not_subset',
    );
    await expect(
      addUserGrant(s.ctx, { userId: frank, projectId: portal, orgId: s.orgs.demoCustomer.id, roleKeys: ['reader', 'admin'] }),
    ).resolves.toHaveProperty('id');
    expect(await listUserGrants(s.ctx.scope, { projectId: portal, orgId: s.orgs.demoCustomer.id })).toHaveLength(2);
  });

  test('an org that neither owns the project nor holds an active grant of it gives nothing', async () => {
    const s = await seeded();
    const portal = s.projects.portal.id;
    await refusedUnchanged(
      s,
      () => addUserGrant(s.ctx, { userId: s.users.alice.id, projectId: portal, orgId: s.orgs.alpha.id, roleKeys: [] }),
      'user_grant.org_not_granted',
    );
    await deactivateProjectGrant(s.ctx, s.projectGrants.portalToDemoCustomer);
    const { id: frank } = await createHumanUser(s.ctx, {
      orgId: s.orgs.demoCustomer.id,
      username: 'frank',
      email: 'frank@example.com',
      password: 'Frank-Passw0rd',
    });
    await refusedUnchanged(
      s,
      () => addUserGrant(s.ctx, { userId: frank, projectId: portal, orgId: s.orgs.demoCustomer.id, roleKeys: ['reader'] }),
      'user_grant.org_not_granted',
    );
  });

  test('one grant per user, project and giving org; unknown users and past expiries are refused', async () => {
    const s = await seeded();
    const tt = s.projects.timeTracking.id;
    await refusedUnchanged(
      s,
      () => addUserGrant(s.ctx, { userId: s.users.bob.id, projectId: tt, orgId: s.orgs.beta.id, roleKeys: ['Accountant'] }),
      'user_grant.exists',
    );
    await refusedUnchanged(s, () => addUserGrant(s.ctx, { userId: 'ghost', projectId: tt, orgId: s.orgs.acme.id, roleKeys: [] }), 'user.not_found');
    await refusedUnchanged(
      s,
      () => addUserGrant(s.ctx, { userId: s.users.bob.id, projectId: tt, orgId: s.orgs.acme.id, roleKeys: [], expiresAt: new Date(Date.now() - 1000) }),
      'user_grant.expiry_in_past',
    );
    await refusedUnchanged(
      s,
      () => addUserGrant(s.ctx, { userId: s.users.bob.id, projectId: 'nope', orgId: s.orgs.acme.id, roleKeys: [] }),
      'project.not_found',
    );
  });

  test('an expiring grant records its end; roles can be changed within what the giver may give', async () => {
    const s = await seeded();
    const until = new Date(Date.now() + 86400_000);
    const { id } = await addUserGrant(s.ctx, {
      userId: s.users.bob.id,
      projectId: s.projects.timeTracking.id,
      orgId: s.orgs.alpha.id,
      roleKeys: ['Accountant'],
      expiresAt: until,
    });
    expect((await getUserGrant(s.ctx.scope, id))!.expires_at).toEqual(until);
    await updateUserGrant(s.ctx, id, { roleKeys: ['Developer'] });
    expect((await getUserGrant(s.ctx.scope, id))!.role_keys).toEqual(['Developer']);
    await removeUserGrant(s.ctx, id);
    expect(await getUserGrant(s.ctx.scope, id)).toBeUndefined();
    expect((await listEvents(s.ctx.scope, { resourceId: id })).map((e) => e.type)).toEqual(['user.grant.added', 'user.grant.changed', 'user.grant.removed']);
  });
});

describe('listing user grants', () => {
  test("filters by user, project, giving org, project grant, the user's org, role and state", async () => {
    const s = await seeded();
    const ids = async (f: Parameters<typeof listUserGrants>[1]) => (await listUserGrants(s.ctx.scope, f)).map((g) => g.id).sort();
    const { bobDeveloper, aliceAccountant, ericReader } = s.userGrants;
    expect(await ids({ projectId: s.projects.timeTracking.id })).toEqual([bobDeveloper, aliceAccountant].sort());
    expect(await ids({ orgId: s.orgs.beta.id })).toEqual([bobDeveloper, aliceAccountant].sort());
    expect(await ids({ userOrgId: s.orgs.alpha.id })).toEqual([aliceAccountant]);
    expect(await ids({ projectGrantId: s.projectGrants.portalToDemoCustomer })).toEqual([ericReader]);
    expect(await ids({ roleKey: 'Developer' })).toEqual([bobDeveloper]);
    expect(await ids({ userId: s.users.eric.id, state: 'active' })).toEqual([ericReader]);
    expect(await ids({ state: 'inactive' })).toEqual([]);
  });
});

describe('concurrency', () => {
  test('many writers racing a role removal: the role survives in no grant, and nobody deadlocks', async () => {
    const s = await seeded();
    const tt = s.projects.timeTracking.id;
    const users = await Promise.all(
      ['u1', 'u2', 'u3'].map(async (u) => (await createHumanUser(s.ctx, { orgId: s.orgs.alpha.id, username: u, email: `${u}@example.com` })).id),
    );
    const results = await Promise.allSettled([
      addUserGrant(s.ctx, { userId: users[0], projectId: tt, orgId: s.orgs.beta.id, roleKeys: ['Developer'] }),
      updateProjectGrantRoles(s.ctx, s.projectGrants.timeTrackingToBeta, ['Accountant', 'Developer']),
      addUserGrant(s.ctx, { userId: users[1], projectId: tt, orgId: s.orgs.acme.id, roleKeys: ['Developer'] }),
      removeProjectRole(s.ctx, tt, 'Developer'),
      updateUserGrant(s.ctx, s.userGrants.aliceAccountant, { roleKeys: ['Accountant', 'Developer'] }),
      addUserGrant(s.ctx, { userId: users[2], projectId: tt, orgId: s.orgs.alpha.id, roleKeys: ['Developer'] }),
      updateProjectGrantRoles(s.ctx, s.projectGrants.timeTrackingToAlpha, ['Developer']),
    ]);
    for (const r of results) {
      if (r.status === 'rejected') expect(r.reason).toMatchObject({ reason: expect.stringMatching(/roles_not_subset$/) });
    }
    expect(results[3].status).toBe('fulfilled');
    const holders = [
      ...(await s.ctx.scope.table('project_grants').where({ project_id: tt }).whereRaw("'Developer' = ANY(role_keys)")),
      ...(await s.ctx.scope.table('user_grants').where({ project_id: tt }).whereRaw("'Developer' = ANY(role_keys)")),
    ];
    expect(holders).toEqual([]);
  });
});

/** Runs `first` in a transaction held open until `second` waits for its locks, then commits. */
async function whileUncommitted(s: SeedScenario, first: (ctx: SeedScenario['ctx']) => Promise<unknown>, second: () => Promise<unknown>) {
  let pending: Promise<unknown> | undefined;
  await rt.db.knex.transaction(async (trx) => {
    await first({ ...s.ctx, scope: new Scope(trx, s.ctx.scope.instanceId) });
    const pid = await backendPid(trx);
    pending = second();
    pending.catch(() => undefined);
    expect(await someoneWaitsFor(rt.db.knex, pid)).toBe(true);
  });
  return (await Promise.allSettled([pending!]))[0];
}

describe('writes racing a cascade', () => {
  test('a user grant given while its role is being removed is refused, not left holding the removed role', async () => {
    const s = await seeded();
    const tt = s.projects.timeTracking.id;
    const result = await whileUncommitted(
      s,
      (ctx) => removeProjectRole(ctx, tt, 'Developer'),
      () => addUserGrant(s.ctx, { userId: s.users.eric.id, projectId: tt, orgId: s.orgs.acme.id, roleKeys: ['Developer'] }),
    );
    expect(result).toMatchObject({ status: 'rejected', reason: { reason: 'user_grant.roles_not_subset' } });
    expect(await s.ctx.scope.table('user_grants').where({ project_id: tt }).whereRaw("'Developer' = ANY(role_keys)")).toEqual([]);
  });

  test('a user grant changed while its project grant shrinks cannot keep the dropped role', async () => {
    const s = await seeded();
    const result = await whileUncommitted(
      s,
      (ctx) => updateProjectGrantRoles(ctx, s.projectGrants.timeTrackingToBeta, ['Accountant']),
      () => updateUserGrant(s.ctx, s.userGrants.aliceAccountant, { roleKeys: ['Accountant', 'Developer'] }),
    );
    expect(result).toMatchObject({ status: 'rejected', reason: { reason: 'user_grant.roles_not_subset' } });
    expect((await getUserGrant(s.ctx.scope, s.userGrants.aliceAccountant))!.role_keys).toEqual(['Accountant']);
  });
});

describe('cascades of deletions', () => {
  test('deleting a user removes their grants and memberships', async () => {
    const s = await seeded();
    await insertMembership(s.ctx.scope, {
      user_id: s.users.bob.id,
      level: 'org',
      org_id: s.orgs.beta.id,
      project_id: null,
      project_grant_id: null,
      roles: ['ORG_OWNER'],
    });
    await deleteUser(s.ctx, s.users.bob.id);
    expect(await getUserGrant(s.ctx.scope, s.userGrants.bobDeveloper)).toBeUndefined();
    expect(await listMembershipsOfUser(s.ctx.scope, s.users.bob.id)).toEqual([]);
    expect(await getUserGrant(s.ctx.scope, s.userGrants.aliceAccountant)).toBeDefined();
  });

  test('deleting the owner org removes its projects, the grants it gave and every user grant on them', async () => {
    const s = await seeded();
    await deleteOrg(s.ctx, s.orgs.acme.id);
    expect(await getOrg(s.ctx.scope, s.orgs.acme.id)).toBeUndefined();
    expect(await s.ctx.scope.table('projects').where({ id: s.projects.timeTracking.id })).toEqual([]);
    expect(await getProjectGrant(s.ctx.scope, s.projectGrants.timeTrackingToBeta)).toBeUndefined();
    expect(await getUserGrant(s.ctx.scope, s.userGrants.aliceAccountant)).toBeUndefined();
    expect(await getUser(s.ctx.scope, s.users.alice.id)).toBeDefined();
    expect(await getUserGrant(s.ctx.scope, s.userGrants.ericReader)).toBeDefined();
  });

  test('deleting a granted org removes the grant it received, the user grants it gave and its users', async () => {
    const s = await seeded();
    await deleteOrg(s.ctx, s.orgs.beta.id);
    expect(await getProjectGrant(s.ctx.scope, s.projectGrants.timeTrackingToBeta)).toBeUndefined();
    expect(await getProjectGrant(s.ctx.scope, s.projectGrants.timeTrackingToAlpha)).toBeDefined();
    expect(await getUserGrant(s.ctx.scope, s.userGrants.aliceAccountant)).toBeUndefined(); // given by Beta to Alpha's Alice
    expect(await getUser(s.ctx.scope, s.users.bob.id)).toBeUndefined();
    expect(await getUser(s.ctx.scope, s.users.alice.id)).toBeDefined();
    expect(await activeRoleGrants(s.ctx.scope, s.users.alice.id, [s.projects.timeTracking.id])).toEqual([]);
  });

  test("deleting a user's org removes the user and the grants other orgs gave them", async () => {
    const s = await seeded();
    await deleteOrg(s.ctx, s.orgs.alpha.id);
    expect(await getUser(s.ctx.scope, s.users.alice.id)).toBeUndefined();
    expect(await getUserGrant(s.ctx.scope, s.userGrants.aliceAccountant)).toBeUndefined();
    expect(await getProjectGrant(s.ctx.scope, s.projectGrants.timeTrackingToAlpha)).toBeUndefined();
    expect(await getUserGrant(s.ctx.scope, s.userGrants.bobDeveloper)).toBeDefined();
  });
});
