import type { Runtime } from '../../src/runtime/index.js';
import type { ServiceContext } from '../../src/domain/deps.js';
import { systemPrincipal } from '../../src/domain/principal.js';
import { removeUserGrant } from '../../src/domain/user-grant/service.js';
import { testInstance, testRuntime, type TestInstance } from '../support/runtime.js';
import { decodeJwt } from 'jose';
import { addApp, addHuman, addMachine, addOrg, addProject, client, discover, grantRoles, localRequest, login, serveApp } from '../support/rp.js';
import { newId } from '../../src/shared/ids.js';
import { clockReaches, eventually } from '../support/eventually.js';
import { LISTENER_NAME as LISTENER } from '../../src/oidc/claims-cache.js';

/**
 * Userinfo reads the user and their role grants through a per-process cache that PostgreSQL
 * invalidates (triggers + LISTEN/NOTIFY, src/oidc/claims-cache.ts). Two runtimes stand for two
 * processes: writes happen in process A (services) or by hand in SQL, userinfo is asked of
 * process B, whose cache is warm. Every change must show in B without waiting for the cache's TTL.
 */

const ROLES = 'urn:zitadel:iam:org:project:roles';

let rtA: Runtime;
let rtB: Runtime;
let serverB: { port: number; close: () => Promise<void> };
let inst: TestInstance;
let ctx: ServiceContext;

beforeAll(async () => {
  rtA = await testRuntime();
  rtB = await testRuntime();
  serverB = await serveApp(rtB);
  inst = await testInstance(rtA, 'ClaimsCache');
  ctx = { deps: rtA.deps, scope: inst.scope, actor: systemPrincipal };
});
afterAll(async () => {
  await serverB.close();
  await rtB.close();
  await rtA.close();
});

type Userinfo = () => Promise<Record<string, unknown>>;

/** Signs the user in at process B to the app (code flow), and asks B's userinfo with the access token. */
async function userinfoAtB(
  app: { clientId: string; redirectUri: string },
  user: { userId: string; loginName: string; password: string },
  scope = 'openid',
): Promise<Userinfo> {
  const rp = { issuer: `http://${inst.domain}:${serverB.port}`, clientId: app.clientId, redirectUri: app.redirectUri, auth: 'none' as const };
  const config = await discover(rp);
  const { tokens } = await login(config, rp, { loginName: user.loginName, password: user.password, scope });
  return () => client.fetchUserInfo(config, tokens.access_token, user.userId) as Promise<Record<string, unknown>>;
}

/** Asks twice: the first answer fills B's cache, the second comes from it. */
async function warm(userinfo: Userinfo, roles: Record<string, unknown>): Promise<void> {
  expect((await userinfo())[ROLES]).toEqual(roles);
  expect((await userinfo())[ROLES]).toEqual(roles);
}

/** A user of the instance's org signed in at process B to an app of a role-asserting project, with one role. */
async function signedIn(projectRoles = ['viewer']) {
  const project = await addProject(inst.scope, inst.orgId, { roles: projectRoles, roleAssertion: true });
  const app = await addApp(rtA, inst.scope, project.projectId, { auth: 'none', accessTokenType: 'opaque' });
  const user = await addHuman(rtA, inst.scope, inst.orgId);
  const grantId = await grantRoles(inst.scope, user.userId, project.projectId, inst.orgId, ['viewer']);
  const userinfo = await userinfoAtB(app, user, 'openid profile');
  await warm(userinfo, { viewer: { [inst.orgId]: expect.any(String) } });
  return { project, user, grantId, userinfo };
}

const listeners = async (rt: Runtime) =>
  (
    await rt.db
      .knex('pg_stat_activity')
      .where({ application_name: LISTENER, datname: rt.db.knex.raw('current_database()') })
      .select('pid')
  ).map((r) => r.pid as number);

describe('userinfo through the claims cache', () => {
  test('a grant removed through the services of another process disappears from userinfo', async () => {
    const { grantId, userinfo } = await signedIn();
    await removeUserGrant(ctx, grantId);
    const after = await eventually(userinfo, (u) => u[ROLES] === undefined);
    expect(after[ROLES]).toBeUndefined();
  });

  test("writes by hand in SQL reach it too: profile fields, role keys, the giving org's domain", async () => {
    const { user, grantId, userinfo } = await signedIn(['viewer', 'editor']);
    await inst.scope.table('users').where({ id: user.userId }).update({ given_name: 'Renamed' });
    expect((await eventually(userinfo, (u) => u.given_name === 'Renamed')).given_name).toBe('Renamed');

    await inst.scope
      .table('user_grants')
      .where({ id: grantId })
      .update({ role_keys: ['viewer', 'editor'] });
    const both = await eventually(userinfo, (u) => Object.keys((u[ROLES] ?? {}) as object).length === 2);
    expect(Object.keys(both[ROLES] as object).sort()).toEqual(['editor', 'viewer']);

    // An instance-wide notice (org domains): every cached user of the instance is read again.
    const domain = `renamed-${newId()}.example`;
    await inst.scope.table('org_domains').where({ org_id: inst.orgId }).update({ is_primary: false });
    await inst.scope.insert('org_domains', { org_id: inst.orgId, domain, is_verified: true, is_primary: true });
    const moved = await eventually(userinfo, (u) => JSON.stringify(u[ROLES]).includes(domain));
    expect(moved[ROLES]).toEqual({ viewer: { [inst.orgId]: domain }, editor: { [inst.orgId]: domain } });
  });

  test('roles given through a project grant leave userinfo when the grant is deactivated', async () => {
    const owner = await addOrg(inst.scope, `Owner ${newId()}`, `owner-${newId()}.example`);
    const project = await addProject(inst.scope, owner, { roles: ['reader'], roleAssertion: true });
    const projectGrantId = newId();
    await inst.scope.insert('project_grants', { id: projectGrantId, project_id: project.projectId, granted_org_id: inst.orgId, role_keys: ['reader'] });
    const app = await addApp(rtA, inst.scope, project.projectId, { auth: 'none', accessTokenType: 'opaque' });
    const user = await addHuman(rtA, inst.scope, inst.orgId);
    await grantRoles(inst.scope, user.userId, project.projectId, inst.orgId, ['reader'], projectGrantId);
    const userinfo = await userinfoAtB(app, user);
    await warm(userinfo, { reader: { [inst.orgId]: expect.any(String) } });

    // By hand: only the project_grants trigger fires (an instance-wide notice).
    await inst.scope.table('project_grants').where({ id: projectGrantId }).update({ state: 'inactive' });
    expect((await eventually(userinfo, (u) => u[ROLES] === undefined))[ROLES]).toBeUndefined();
  });

  test('a grant that expires leaves userinfo at its expiry, with no write at all', async () => {
    const project = await addProject(inst.scope, inst.orgId, { roles: ['viewer'], roleAssertion: true });
    const app = await addApp(rtA, inst.scope, project.projectId, { auth: 'none', accessTokenType: 'opaque' });
    const user = await addHuman(rtA, inst.scope, inst.orgId);
    const grantId = await grantRoles(inst.scope, user.userId, project.projectId, inst.orgId, ['viewer']);
    const expiresAt = new Date(Date.now() + 3000);
    await inst.scope.table('user_grants').where({ id: grantId }).update({ expires_at: expiresAt });
    const userinfo = await userinfoAtB(app, user);
    await warm(userinfo, { viewer: { [inst.orgId]: expect.any(String) } });
    // Time passing is the point here: wait for the expiry itself, then give the cache's own
    // clock (lru-cache's, not Date's) the moment it may lag behind.
    await clockReaches(expiresAt.getTime());
    expect((await eventually(userinfo, (u) => u[ROLES] === undefined))[ROLES]).toBeUndefined();
  });

  test('a deactivated user is refused by userinfo', async () => {
    const { user, userinfo } = await signedIn();
    await inst.scope.table('users').where({ id: user.userId }).update({ state: 'inactive' });
    const refused = await eventually(
      () =>
        userinfo().then(
          () => 'ok',
          (e: Error) => e.message,
        ),
      (r) => r !== 'ok',
    );
    expect(refused).not.toBe('ok');
  });

  test('when the LISTEN connection is lost, changes made meanwhile are still seen, and it comes back', async () => {
    const { user, userinfo } = await signedIn();
    const before = await listeners(rtB);
    expect(before.length).toBeGreaterThan(0);
    // Every listener of this database (other test files' processes only lose their cache for a second).
    await rtA.db.knex.raw('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = ? AND datname = current_database()', [LISTENER]);
    // Changed while no notice can reach B: B must not answer from what it held.
    await inst.scope.table('users').where({ id: user.userId }).update({ given_name: 'WhileDisconnected' });
    expect((await eventually(userinfo, (u) => u.given_name === 'WhileDisconnected')).given_name).toBe('WhileDisconnected');

    // A new LISTEN connection comes up, and notices reach B again.
    const back = await eventually(
      () => listeners(rtB),
      (pids) => pids.some((p) => !before.includes(p)),
      5000,
    );
    expect(back.some((p) => !before.includes(p))).toBe(true);
    await userinfo();
    await inst.scope.table('users').where({ id: user.userId }).update({ given_name: 'AfterReconnect' });
    expect((await eventually(userinfo, (u) => u.given_name === 'AfterReconnect')).given_name).toBe('AfterReconnect');
  });
});

describe('client_credentials through the claims cache', () => {
  test("a machine user's roles in its tokens follow grant changes made in another process", async () => {
    const project = await addProject(inst.scope, inst.orgId, { roles: ['viewer', 'editor'], roleAssertion: true });
    const machine = await addMachine(rtA, inst.scope, inst.orgId);
    await inst.scope.table('users').where({ id: machine.userId }).update({ access_token_type: 'jwt' });
    const grantId = await grantRoles(inst.scope, machine.userId, project.projectId, inst.orgId, ['viewer']);
    const roles = async () => {
      const res = await localRequest(new URL(`http://${inst.domain}:${serverB.port}/token`), {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          authorization: `Basic ${Buffer.from(`${machine.clientId}:${machine.clientSecret}`).toString('base64')}`,
        },
        body: new URLSearchParams({ grant_type: 'client_credentials', scope: `urn:zitadel:iam:org:project:id:${project.projectId}:aud` }).toString(),
      });
      expect(res.status).toBe(200);
      return decodeJwt(JSON.parse(res.body).access_token)[ROLES] as Record<string, unknown> | undefined;
    };
    // Twice: the first token fills B's cache, the second comes from it.
    expect(Object.keys((await roles())!)).toEqual(['viewer']);
    expect(Object.keys((await roles())!)).toEqual(['viewer']);

    await inst.scope
      .table('user_grants')
      .where({ id: grantId })
      .update({ role_keys: ['viewer', 'editor'] });
    expect(Object.keys((await eventually(roles, (r) => Object.keys(r ?? {}).length === 2))!).sort()).toEqual(['editor', 'viewer']);
    await removeUserGrant(ctx, grantId);
    expect(await eventually(roles, (r) => r === undefined)).toBeUndefined();
  });
});
