import type { Runtime } from '../../src/runtime/index.js';
import { testInstance, testRuntime, type TestInstance } from '../support/runtime.js';
import { addApp, addHuman, addProject, client as oidc, discover, serveApp, localRequest, login, type RpClient } from '../support/rp.js';
import { client, machineCaller } from './api-client.js';

/**
 * The refresh token reuse grace (src/oidc/refresh-rotation.ts): a client whose refresh answer
 * was lost (a crash after the rotation committed, a dropped connection) presents the same refresh
 * token again within a few seconds, and gets a fresh answer instead of losing the whole family.
 * Outside the grace, or after the successor was used, reuse still revokes the family.
 */

let rt: Runtime;
let server: { port: number; close: () => Promise<void> };
let inst: TestInstance;
let rp: RpClient;
let config: oidc.Configuration;
let user: Awaited<ReturnType<typeof addHuman>>;

beforeAll(async () => {
  rt = await testRuntime();
  server = await serveApp(rt);
  inst = await testInstance(rt, 'Refresh grace');
  const project = await addProject(inst.scope, inst.orgId);
  const app = await addApp(rt, inst.scope, project.projectId);
  user = await addHuman(rt, inst.scope, inst.orgId);
  rp = { issuer: `http://${inst.domain}:${server.port}`, clientId: app.clientId, clientSecret: app.clientSecret, redirectUri: app.redirectUri };
  config = await discover(rp);
});
afterAll(async () => {
  await server.close();
  await rt.close();
});

async function refresh(refreshToken: string) {
  const res = await localRequest(new URL(`${rp.issuer}/token`), {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `Basic ${Buffer.from(`${encodeURIComponent(rp.clientId)}:${encodeURIComponent(rp.clientSecret!)}`).toString('base64')}`,
    },
    body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken }).toString(),
  });
  return { status: res.status, body: JSON.parse(res.body) };
}

const userinfo = async (accessToken: string) =>
  (await localRequest(new URL(`${rp.issuer}/me`), { headers: { authorization: `Bearer ${accessToken}` } })).status;
const signIn = async () => (await login(config, rp, { loginName: user.loginName, password: user.password, scope: 'openid offline_access' })).tokens;

test('a just-rotated refresh token presented again within the grace gets a fresh answer, and the family lives on', async () => {
  const tokens = await signIn();
  const lost = await refresh(tokens.refresh_token!);
  expect(lost.status).toBe(200);
  // The client never saw that answer: it tries again with the token it has.
  const retry = await refresh(tokens.refresh_token!);
  expect(retry.status).toBe(200);
  expect(retry.body.refresh_token).not.toBe(lost.body.refresh_token);
  expect(retry.body.id_token).toBeTruthy();
  expect(await userinfo(retry.body.access_token)).toBe(200);
  const next = await refresh(retry.body.refresh_token);
  expect(next.status).toBe(200);
  expect(await userinfo(next.body.access_token)).toBe(200);
});

test('once its successor was used, presenting it again is reuse even within the grace: the family is revoked', async () => {
  const tokens = await signIn();
  const second = await refresh(tokens.refresh_token!);
  const third = await refresh(second.body.refresh_token);
  expect(third.status).toBe(200);
  expect((await refresh(tokens.refresh_token!)).body.error).toBe('invalid_grant');
  expect((await refresh(third.body.refresh_token)).body.error).toBe('invalid_grant');
  expect(await userinfo(third.body.access_token)).toBe(401);
});

test("the grace is the instance's OIDC setting: 5 s by default, 0 through the Admin API turns it off", async () => {
  const admin = await machineCaller(rt, inst, inst.orgId, [{ level: 'instance', roles: ['IAM_OWNER'] }]);
  const api = client(server.port, inst.domain, admin.token);
  expect((await api.get('/admin/v1/settings/oidc')).body).toMatchObject({ refreshTokenReuseGraceS: 5 });
  expect((await api.put('/admin/v1/settings/oidc', { refreshTokenReuseGraceS: 301 })).status).toBe(400);
  const put = await api.put('/admin/v1/settings/oidc', { refreshTokenReuseGraceS: 0 });
  expect(put.status).toBe(200);
  expect(put.body).toMatchObject({ refreshTokenReuseGraceS: 0 });

  const tokens = await signIn();
  const rotated = await refresh(tokens.refresh_token!);
  expect(rotated.status).toBe(200);
  expect((await refresh(tokens.refresh_token!)).body.error).toBe('invalid_grant');
  expect((await refresh(rotated.body.refresh_token)).body.error).toBe('invalid_grant');
  await api.put('/admin/v1/settings/oidc', { refreshTokenReuseGraceS: 5 });
});
