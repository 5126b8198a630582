import type { Runtime } from '../../src/runtime/index.js';
import { testInstance, testRuntime, type TestInstance } from '../support/runtime.js';
import {
  addApp,
  addHuman,
  addOrg,
  addProject,
  authorize,
  discover,
  formsOf,
  grantRoles,
  localRequest,
  login,
  serveApp,
  type AppFixture,
  type RpClient,
} from '../support/rp.js';
import { newId } from '../../src/shared/ids.js';
import { eventually } from '../support/eventually.js';
import { client, machineCaller, type Caller } from './api-client.js';

/**
 * A token outlives the sign-in it came from: introspection, userinfo and the refresh grant each
 * ask again, at the time of the call, whether the user may still use the client (user active,
 * org active, app active, the project's checks). Once not: introspection answers
 * {active:false}, userinfo 401 invalid_token, and a refresh invalid_grant.
 */
let rt: Runtime;
let server: { port: number; close: () => Promise<void> };
let inst: TestInstance;
let admin: Caller;
let issuer: string;

beforeAll(async () => {
  rt = await testRuntime();
  server = await serveApp(rt);
  inst = await testInstance(rt, 'Recheck');
  admin = await machineCaller(rt, inst, inst.orgId, [{ level: 'instance', roles: ['IAM_OWNER'] }]);
  issuer = `http://${inst.domain}:${server.port}`;
});
afterAll(async () => {
  await server.close();
  await rt.close();
});

const api = (orgId: string) => client(server.port, inst.domain, admin.token, { 'x-org-id': orgId });

interface Setup {
  orgId: string;
  projectId: string;
  app: AppFixture;
  api: AppFixture;
  user: Awaited<ReturnType<typeof addHuman>>;
}

/** A fresh org with a project, a web app, an API app of the same project and one user. */
async function setup(project: { roleCheck?: boolean; hasProjectCheck?: boolean } = {}, userInOtherOrg = false): Promise<Setup> {
  const orgId = await addOrg(inst.scope, `Org ${newId()}`, `o${newId()}.recheck.test`);
  const { projectId } = await addProject(inst.scope, orgId, { ...project, roles: ['reader'] });
  const app = await addApp(rt, inst.scope, projectId);
  const apiApp = await addApp(rt, inst.scope, projectId, { type: 'api', grantTypes: [] });
  const userOrg = userInOtherOrg ? await addOrg(inst.scope, `Users ${newId()}`, `u${newId()}.recheck.test`) : orgId;
  const user = await addHuman(rt, inst.scope, userOrg);
  return { orgId, projectId, app, api: apiApp, user };
}

const rpOf = (s: Setup): RpClient => ({ issuer, clientId: s.app.clientId, clientSecret: s.app.clientSecret, redirectUri: s.app.redirectUri });

async function signIn(s: Setup) {
  const rp = rpOf(s);
  const { tokens } = await login(await discover(rp), rp, { loginName: s.user.loginName, password: s.user.password, scope: 'openid profile offline_access' });
  return tokens;
}

const basic = (a: AppFixture) => `Basic ${Buffer.from(`${encodeURIComponent(a.clientId)}:${encodeURIComponent(a.clientSecret!)}`).toString('base64')}`;

async function introspect(caller: AppFixture, token: string) {
  const res = await localRequest(new URL(`${issuer}/token/introspection`), {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic(caller) },
    body: new URLSearchParams({ token }).toString(),
  });
  return JSON.parse(res.body);
}

async function userinfo(accessToken: string) {
  const res = await localRequest(new URL(`${issuer}/me`), { headers: { authorization: `Bearer ${accessToken}` } });
  return { status: res.status, wwwAuthenticate: String(res.headers['www-authenticate'] ?? '') };
}

async function refresh(s: Setup, refreshToken: string) {
  const res = await localRequest(new URL(`${issuer}/token`), {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic(s.app) },
    body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken }).toString(),
  });
  return { status: res.status, body: JSON.parse(res.body) };
}

/** What a relying party observes with the tokens of a sign-in, all at once. */
async function observed(s: Setup, tokens: { access_token: string; refresh_token?: string }) {
  const [byApp, byApi, info, refreshed] = await Promise.all([
    introspect(s.app, tokens.access_token),
    introspect(s.api, tokens.access_token),
    userinfo(tokens.access_token),
    refresh(s, tokens.refresh_token!),
  ]);
  return { byApp: byApp.active, byApi: byApi.active, userinfo: info.status, refresh: refreshed.status === 200 ? 'ok' : refreshed.body.error, info };
}

/**
 * Project checks are kept in the claims cache until PostgreSQL's notice of the write arrives
 * (milliseconds after the commit); wait for it through introspection, then look at everything.
 */
async function projectCheckHeard(s: Setup, accessToken: string) {
  await eventually(
    () => introspect(s.api, accessToken),
    (r) => r.active === false,
  );
}

const usable = { byApp: true, byApi: true, userinfo: 200, refresh: 'ok' };
const withdrawn = { byApp: false, byApi: false, userinfo: 401, refresh: 'invalid_grant' };

test('a locked user: introspection inactive, userinfo 401 invalid_token, refresh invalid_grant; unlocked, usable again', async () => {
  const s = await setup();
  const tokens = await signIn(s);
  expect(await observed(s, await signIn(s))).toMatchObject(usable);
  expect((await api(s.orgId).post(`/management/v1/users/${s.user.userId}/_lock`)).status).toBe(204);
  const after = await observed(s, tokens);
  expect(after).toMatchObject(withdrawn);
  expect(after.info.wwwAuthenticate).toMatch(/^Bearer .*error="invalid_token"/);
  expect((await api(s.orgId).post(`/management/v1/users/${s.user.userId}/_unlock`)).status).toBe(204);
  const again = await signIn(s);
  expect(await observed(s, again)).toMatchObject(usable);
});

test('a deactivated user is refused at once by the writing process, and by every other process that shares the database as soon as it hears the notice', async () => {
  const s = await setup();
  const tokens = await signIn(s);
  // A second process: warm its caches first, then deactivate through the first.
  const other = await serveApp(rt);
  try {
    // Same origin as the first (the issuer its JWTs name), served by the second.
    const at = (path: string, init: Parameters<typeof localRequest>[1] = {}) =>
      localRequest(new URL(`http://${inst.domain}:${other.port}${path}`), { ...init, headers: { ...init.headers, host: `${inst.domain}:${server.port}` } });
    const introspectThere = async () =>
      JSON.parse(
        (
          await at('/token/introspection', {
            method: 'POST',
            headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic(s.api) },
            body: new URLSearchParams({ token: tokens.access_token }).toString(),
          })
        ).body,
      ).active;
    const userinfoThere = async () => (await at('/me', { headers: { authorization: `Bearer ${tokens.access_token}` } })).status;
    expect(await introspectThere()).toBe(true);
    expect(await userinfoThere()).toBe(200);
    expect((await api(s.orgId).post(`/management/v1/users/${s.user.userId}/_deactivate`)).status).toBe(204);
    // The writer waited for its own process to hear the notice (sync): refused there at once.
    expect((await introspect(s.api, tokens.access_token)).active).toBe(false);
    // Another process hears the same notice on its own LISTEN connection, milliseconds later
    // (CI once asked it first): refused once it has, long before the cache's TTL.
    expect(await eventually(introspectThere, (active) => active === false)).toBe(false);
    expect(await userinfoThere()).toBe(401);
  } finally {
    await other.close();
  }
});

test('a deactivated app: its tokens introspect as inactive for the API app of its project', async () => {
  const s = await setup();
  const tokens = await signIn(s);
  expect((await introspect(s.api, tokens.access_token)).active).toBe(true);
  expect((await api(s.orgId).post(`/management/v1/projects/${s.projectId}/apps/${s.app.appId}/_deactivate`)).status).toBe(204);
  expect((await introspect(s.api, tokens.access_token)).active).toBe(false);
  expect((await userinfo(tokens.access_token)).status).toBe(401);
});

test('projectRoleCheck: once the user grant is removed, refresh is invalid_grant and the token inactive', async () => {
  const s = await setup({ roleCheck: true });
  const grantId = await grantRoles(inst.scope, s.user.userId, s.projectId, s.orgId, ['reader']);
  const tokens = await signIn(s);
  expect(await observed(s, await signIn(s))).toMatchObject(usable);
  expect((await api(s.orgId).delete(`/management/v1/user_grants/${grantId}`)).status).toBe(204);
  await projectCheckHeard(s, tokens.access_token);
  expect(await observed(s, tokens)).toMatchObject(withdrawn);
});

test("hasProjectCheck: once the project grant to the user's org is removed, refresh is invalid_grant and the token inactive", async () => {
  const s = await setup({ hasProjectCheck: true }, true);
  const userOrg = (await inst.scope.table('users').where({ id: s.user.userId }).first('org_id')).org_id as string;
  const created = await api(s.orgId).post(`/management/v1/projects/${s.projectId}/grants`, { grantedOrgId: userOrg, roleKeys: ['reader'] });
  expect(created.status).toBe(201);
  const tokens = await signIn(s);
  expect(await observed(s, await signIn(s))).toMatchObject(usable);
  expect((await api(s.orgId).delete(`/management/v1/projects/${s.projectId}/grants/${created.body.id}`)).status).toBe(204);
  await projectCheckHeard(s, tokens.access_token);
  expect(await observed(s, tokens)).toMatchObject(withdrawn);
});

describe('a deactivated org (issue 11, item 3)', () => {
  test("its users' tokens are inactive, refused at userinfo, and cannot be refreshed", async () => {
    const s = await setup({}, true);
    const userOrg = (await inst.scope.table('users').where({ id: s.user.userId }).first('org_id')).org_id as string;
    const tokens = await signIn(s);
    expect(await observed(s, await signIn(s))).toMatchObject(usable);
    expect((await api(userOrg).post('/management/v1/orgs/me/_deactivate')).status).toBe(204);
    expect(await observed(s, tokens)).toMatchObject(withdrawn);
  });

  test('its users cannot sign in', async () => {
    const s = await setup({}, true);
    const userOrg = (await inst.scope.table('users').where({ id: s.user.userId }).first('org_id')).org_id as string;
    expect((await api(userOrg).post('/management/v1/orgs/me/_deactivate')).status).toBe(204);
    await expect(signIn(s)).rejects.toThrow();
  });
});

describe('a browser that still holds the session of a user who can no longer sign in (issue 11, item 5)', () => {
  const withdraw: [string, (s: Setup, userOrg: string) => Promise<{ status: number }>][] = [
    ['locked', (s, userOrg) => api(userOrg).post(`/management/v1/users/${s.user.userId}/_lock`)],
    ['deactivated', (s, userOrg) => api(userOrg).post(`/management/v1/users/${s.user.userId}/_deactivate`)],
    ['of a deactivated org', (_s, userOrg) => api(userOrg).post('/management/v1/orgs/me/_deactivate')],
  ];
  for (const [what, action] of withdraw) {
    test(`${what}: /auth shows the login page, not an error; prompt=none answers login_required`, async () => {
      const s = await setup({}, true);
      const userOrg = (await inst.scope.table('users').where({ id: s.user.userId }).first('org_id')).org_id as string;
      const rp = rpOf(s);
      const config = await discover(rp);
      const { browser } = await login(config, rp, { loginName: s.user.loginName, password: s.user.password, scope: 'openid' });
      expect((await action(s, userOrg)).status).toBe(204);

      const again = await authorize(config, rp, { browser });
      expect(again.callback).toBeUndefined();
      expect(again.page!.status).toBe(200);
      expect(formsOf(again.page!).some((f) => f.action.pathname.endsWith('/loginname'))).toBe(true);

      const silent = await authorize(config, rp, { browser, params: { prompt: 'none' } });
      expect(silent.callback?.searchParams.get('error')).toBe('login_required');
    });
  }
});
