import type { Runtime } from '../../src/runtime/index.js';
import { testInstance, testRuntime } from '../support/runtime.js';
import { seedScenario, type SeedScenario } from '../support/seed.js';
import { clockReaches } from '../support/eventually.js';
import { activeRoleGrants, activeRoleGrantsQuery, userHasProjectAccess } from '../../src/domain/user-grant/repository.js';
import { addUserGrant, deactivateUserGrant, reactivateUserGrant, updateUserGrant } from '../../src/domain/user-grant/service.js';
import { deactivateProjectGrant, reactivateProjectGrant } from '../../src/domain/project-grant/service.js';
import { deactivateProject, reactivateProject } from '../../src/domain/project/service.js';
import { deactivateOrg, reactivateOrg } from '../../src/domain/org/service.js';
import { findApplicationByClientId } from '../../src/domain/project/applications.js';
import { findUserByLoginName } from '../../src/domain/user/login-name-repository.js';
import type { Scope } from '../../src/db/scope.js';

let rt: Runtime;
beforeAll(async () => {
  rt = await testRuntime();
});
afterAll(async () => {
  await rt.close();
});

async function seeded(): Promise<SeedScenario> {
  return seedScenario(rt, await testInstance(rt, 'Seed'));
}

/** The roles claim shape, built from the read model: { role: { orgId: domain } }. */
async function claim(scope: Scope, userId: string, projectId: string): Promise<Record<string, Record<string, string>>> {
  const out: Record<string, Record<string, string>> = {};
  for (const g of await activeRoleGrants(scope, userId, [projectId])) {
    for (const k of g.roleKeys) (out[k] ??= {})[g.orgId] = g.orgPrimaryDomain;
  }
  return out;
}

describe('the seed scenario', () => {
  test('builds the README scenario with working login names and client ids', async () => {
    const s = await seeded();
    const { scope } = s.ctx;
    for (const u of Object.values(s.users)) {
      expect((await findUserByLoginName(scope, u.loginName))?.id).toBe(u.id);
    }
    for (const p of Object.values(s.projects)) {
      const app = await findApplicationByClientId(scope, p.app.clientId);
      expect(app).toMatchObject({ project_id: p.id, auth_method: 'none', redirect_uris: ['http://localhost/cb'], client_secret_hash: null });
    }
    expect(s.orgs.beta.domain).toMatch(/^beta\./);
  });

  test('Bob holds Developer and Alice Accountant on Time Tracking, both given by Beta; Eric holds reader on Portal', async () => {
    const s = await seeded();
    const { scope } = s.ctx;
    const beta = { [s.orgs.beta.id]: s.orgs.beta.domain };
    expect(await claim(scope, s.users.bob.id, s.projects.timeTracking.id)).toEqual({ Developer: beta });
    expect(await claim(scope, s.users.alice.id, s.projects.timeTracking.id)).toEqual({ Accountant: beta });
    expect(await claim(scope, s.users.eric.id, s.projects.portal.id)).toEqual({ reader: { [s.orgs.demoCustomer.id]: s.orgs.demoCustomer.domain } });
    expect(await claim(scope, s.users.eric.id, s.projects.timeTracking.id)).toEqual({});
  });
});

describe('activeRoleGrants', () => {
  test('gives one entry per giving org and records the project grant it came through', async () => {
    const s = await seeded();
    const { ctx } = s;
    const tt = s.projects.timeTracking;
    // ACME (the owner) also gives Alice Developer directly.
    const own = await addUserGrant(ctx, { userId: s.users.alice.id, projectId: tt.id, orgId: s.orgs.acme.id, roleKeys: ['Developer'] });
    const grants = await activeRoleGrants(ctx.scope, s.users.alice.id, [tt.id, s.projects.portal.id]);
    expect(grants).toHaveLength(2);
    expect(grants).toEqual(
      expect.arrayContaining([
        {
          projectId: tt.id,
          orgId: s.orgs.beta.id,
          orgPrimaryDomain: s.orgs.beta.domain,
          roleKeys: ['Accountant'],
          userGrantId: s.userGrants.aliceAccountant,
          projectGrantId: s.projectGrants.timeTrackingToBeta,
        },
        { projectId: tt.id, orgId: s.orgs.acme.id, orgPrimaryDomain: s.orgs.acme.domain, roleKeys: ['Developer'], userGrantId: own.id, projectGrantId: null },
      ]),
    );
    expect(await claim(ctx.scope, s.users.alice.id, tt.id)).toEqual({
      Accountant: { [s.orgs.beta.id]: s.orgs.beta.domain },
      Developer: { [s.orgs.acme.id]: s.orgs.acme.domain },
    });
    expect(await activeRoleGrants(ctx.scope, s.users.alice.id, [])).toEqual([]);
  });

  test('a deactivated user grant stays stored but counts for nothing until reactivated', async () => {
    const s = await seeded();
    const { ctx } = s;
    await deactivateUserGrant(ctx, s.userGrants.bobDeveloper);
    expect(await activeRoleGrants(ctx.scope, s.users.bob.id, [s.projects.timeTracking.id])).toEqual([]);
    expect(await ctx.scope.table('user_grants').where({ id: s.userGrants.bobDeveloper }).first()).toMatchObject({
      state: 'inactive',
      role_keys: ['Developer'],
    });
    await reactivateUserGrant(ctx, s.userGrants.bobDeveloper);
    expect(await claim(ctx.scope, s.users.bob.id, s.projects.timeTracking.id)).toEqual({ Developer: { [s.orgs.beta.id]: s.orgs.beta.domain } });
  });

  test('an expired user grant counts for nothing; clearing the expiry brings it back', async () => {
    const s = await seeded();
    const { ctx } = s;
    // An expiry must lie in the future, so this test waits for one to pass: 1.5 s outlasts the
    // write and the first check on a busy machine, and the wait ends the moment it expires.
    const expiresAt = new Date(Date.now() + 1500);
    await updateUserGrant(ctx, s.userGrants.bobDeveloper, { expiresAt });
    expect(await activeRoleGrants(ctx.scope, s.users.bob.id, [s.projects.timeTracking.id])).toHaveLength(1);
    await clockReaches(expiresAt.getTime() + 1);
    expect(await activeRoleGrants(ctx.scope, s.users.bob.id, [s.projects.timeTracking.id])).toEqual([]);
    expect(await ctx.scope.table('user_grants').where({ id: s.userGrants.bobDeveloper }).first()).toMatchObject({ state: 'active' });
    await updateUserGrant(ctx, s.userGrants.bobDeveloper, { expiresAt: null });
    expect(await activeRoleGrants(ctx.scope, s.users.bob.id, [s.projects.timeTracking.id])).toHaveLength(1);
  });

  test('a deactivated project grant silences every user grant made under it, and only those', async () => {
    const s = await seeded();
    const { ctx } = s;
    const tt = s.projects.timeTracking.id;
    await addUserGrant(ctx, { userId: s.users.bob.id, projectId: tt, orgId: s.orgs.acme.id, roleKeys: ['Accountant'] });
    await deactivateProjectGrant(ctx, s.projectGrants.timeTrackingToBeta);
    expect(await claim(ctx.scope, s.users.bob.id, tt)).toEqual({ Accountant: { [s.orgs.acme.id]: s.orgs.acme.domain } });
    expect(await claim(ctx.scope, s.users.alice.id, tt)).toEqual({});
    await reactivateProjectGrant(ctx, s.projectGrants.timeTrackingToBeta);
    expect(await claim(ctx.scope, s.users.alice.id, tt)).toEqual({ Accountant: { [s.orgs.beta.id]: s.orgs.beta.domain } });
  });

  test('a deactivated project gives no roles', async () => {
    const s = await seeded();
    const { ctx } = s;
    await deactivateProject(ctx, s.projects.portal.id);
    expect(await activeRoleGrants(ctx.scope, s.users.eric.id, [s.projects.portal.id])).toEqual([]);
    await reactivateProject(ctx, s.projects.portal.id);
    expect(await activeRoleGrants(ctx.scope, s.users.eric.id, [s.projects.portal.id])).toHaveLength(1);
  });

  test('a deactivated giving org gives no roles, nor does a deactivated owner org', async () => {
    const s = await seeded();
    const { ctx } = s;
    const tt = s.projects.timeTracking.id;
    await deactivateOrg(ctx, s.orgs.beta.id);
    expect(await activeRoleGrants(ctx.scope, s.users.alice.id, [tt])).toEqual([]);
    await reactivateOrg(ctx, s.orgs.beta.id);
    expect(await activeRoleGrants(ctx.scope, s.users.alice.id, [tt])).toHaveLength(1);
    await deactivateOrg(ctx, s.orgs.acme.id);
    expect(await activeRoleGrants(ctx.scope, s.users.alice.id, [tt])).toEqual([]);
  });

  test('defence in depth: role keys a cascade missed are filtered by the project and grant roles', async () => {
    const s = await seeded();
    const { ctx } = s;
    // Simulate rows written around the services: a key the grant no longer has, and one the project never had.
    await ctx.scope
      .table('project_grants')
      .where({ id: s.projectGrants.portalToDemoCustomer })
      .update({ role_keys: ['admin'] });
    await ctx.scope
      .table('user_grants')
      .where({ id: s.userGrants.ericReader })
      .update({ role_keys: ['reader', 'admin', 'ghost'] });
    expect(await activeRoleGrants(ctx.scope, s.users.eric.id, [s.projects.portal.id])).toEqual([expect.objectContaining({ roleKeys: ['admin'] })]);
  });

  test("its cost follows the user's own grants: with 20,000 other grants in the instance it reads by the user index", async () => {
    const s = await seeded();
    const { scope } = s.ctx;
    const tt = s.projects.timeTracking.id;
    await rt.db.knex.raw(
      `INSERT INTO users (instance_id, id, org_id, type, username)
      SELECT ?, 'bulk-' || g, ?, 'human', 'bulk' || g FROM generate_series(1, 20000) g`,
      [scope.instanceId, s.orgs.beta.id],
    );
    // Fresh statistics, or the foreign-key checks of the next insert may scan users row by row.
    await rt.db.knex.raw('ANALYZE users');
    await rt.db.knex.raw(
      `INSERT INTO user_grants (instance_id, id, user_id, project_id, org_id, project_grant_id, role_keys)
      SELECT ?, 'bulk-g' || g, 'bulk-' || g, ?, ?, ?, '{Developer}' FROM generate_series(1, 20000) g`,
      [scope.instanceId, tt, s.orgs.beta.id, s.projectGrants.timeTrackingToBeta],
    );
    await rt.db.knex.raw('ANALYZE users, user_grants, projects, orgs, project_grants, org_domains, project_roles');
    const explain = await rt.db.knex.raw('EXPLAIN (ANALYZE, FORMAT TEXT) ' + activeRoleGrantsQuery(scope, s.users.bob.id, [tt]).toString());
    const plan = (explain.rows as { 'QUERY PLAN': string }[]).map((r) => r['QUERY PLAN']).join('\n');
    // Either index leading with (instance_id, user_id, project_id) is a lookup by the user.
    expect(plan).toMatch(/Index (Only )?Scan using (user_grants_by_user_project|user_grants_instance_id_user_id_project_id_org_id_unique) on user_grants ug/);
    expect(plan).not.toMatch(/Seq Scan on user_grants/);
    const started = process.hrtime.bigint();
    for (let i = 0; i < 100; i++) await activeRoleGrants(scope, s.users.bob.id, [tt]);
    const meanMs = Number(process.hrtime.bigint() - started) / 1e6 / 100;
    console.log(
      `activeRoleGrants with 20,000 other grants in the instance: ${meanMs.toFixed(2)} ms mean over 100 calls (round trip); ` +
        `database ${plan.match(/Execution Time: [\d.]+ ms/)?.[0]}`,
    );
    expect(await claim(scope, s.users.bob.id, tt)).toEqual({ Developer: { [s.orgs.beta.id]: s.orgs.beta.domain } });
  }, 120_000);
});

describe('userHasProjectAccess', () => {
  test("is true for the owner's users and for users of an org holding an active grant, false otherwise", async () => {
    const s = await seeded();
    const { ctx } = s;
    const portal = s.projects.portal.id;
    expect(await userHasProjectAccess(ctx.scope, { userId: s.users.eric.id, projectId: portal })).toBe(true);
    expect(await userHasProjectAccess(ctx.scope, { userId: s.users.bob.id, userOrgId: s.orgs.beta.id, projectId: portal })).toBe(false);
    expect(await userHasProjectAccess(ctx.scope, { userId: 'x', userOrgId: s.orgs.demoVendor.id, projectId: portal })).toBe(true);
    await deactivateProjectGrant(ctx, s.projectGrants.portalToDemoCustomer);
    expect(await userHasProjectAccess(ctx.scope, { userId: s.users.eric.id, projectId: portal })).toBe(false);
    expect(await userHasProjectAccess(ctx.scope, { userId: 'nobody', projectId: portal })).toBe(false);
  });
});
