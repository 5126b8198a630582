import { createLocalJWKSet, decodeProtectedHeader, generateKeyPair, jwtVerify, SignJWT, decodeJwt } from 'jose';
import type { Runtime } from '../../src/runtime/index.js';
import { testInstance, testRuntime, type TestInstance } from '../support/runtime.js';
import { addApp, addHuman, addMachine, addProject, client, discover, grantRoles, localRequest, login, type AppFixture, serveApp } from '../support/rp.js';

const ROLES = 'urn:zitadel:iam:org:project:roles';
let rt: Runtime;
let server: { port: number; close: () => Promise<void> };
let inst: TestInstance;
let issuer: string;
let projectId: string;
let api: AppFixture;
let user: Awaited<ReturnType<typeof addHuman>>;

beforeAll(async () => {
  rt = await testRuntime();
  server = await serveApp(rt);
  inst = await testInstance(rt, 'Access tokens');
  issuer = `http://${inst.domain}:${server.port}`;
  ({ projectId } = await addProject(inst.scope, inst.orgId, { roles: ['viewer'] }));
  api = await addApp(rt, inst.scope, projectId, { type: 'api', grantTypes: [] });
  user = await addHuman(rt, inst.scope, inst.orgId);
  await grantRoles(inst.scope, user.userId, projectId, inst.orgId, ['viewer']);
});
afterAll(async () => {
  await server.close();
  await rt.close();
});

async function tokensFor(app: AppFixture, scope = 'openid') {
  const rp = { issuer, clientId: app.clientId, clientSecret: app.clientSecret, redirectUri: app.redirectUri };
  const config = await discover(rp);
  const { tokens } = await login(config, rp, { loginName: user.loginName, password: user.password, scope });
  return { config, tokens };
}

const basic = (a: AppFixture) => `Basic ${Buffer.from(`${encodeURIComponent(a.clientId)}:${encodeURIComponent(a.clientSecret!)}`).toString('base64')}`;
async function introspect(token: string) {
  const res = await localRequest(new URL(`${issuer}/token/introspection`), {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic(api) },
    body: `token=${encodeURIComponent(token)}`,
  });
  return JSON.parse(res.body);
}
const userinfo = (token: string) => localRequest(new URL(`${issuer}/me`), { headers: { authorization: `Bearer ${token}` } });
const jwks = async () => createLocalJWKSet(JSON.parse((await localRequest(new URL(`${issuer}/jwks`))).body));

describe('access token type', () => {
  test('JWT: signed by the instance key, with audience and roles (accessTokenRoleAssertion), and usable everywhere', async () => {
    const app = await addApp(rt, inst.scope, projectId, { accessTokenType: 'jwt', accessTokenRoleAssertion: true });
    const { config, tokens } = await tokensFor(app, 'openid urn:zitadel:iam:org:projects:roles');
    const { payload, protectedHeader } = await jwtVerify(tokens.access_token, await jwks(), { issuer, typ: 'at+jwt' });
    expect(protectedHeader.alg).toBe('RS256');
    expect(payload).toMatchObject({ sub: user.userId, client_id: app.clientId, [ROLES]: { viewer: { [inst.orgId]: expect.any(String) } } });
    expect(payload.aud).toEqual([app.clientId, projectId]);
    expect((await client.fetchUserInfo(config, tokens.access_token, user.userId)).sub).toBe(user.userId);
    const byBody = await localRequest(new URL(`${issuer}/me`), {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `access_token=${encodeURIComponent(tokens.access_token)}`,
    });
    expect(byBody.status).toBe(200);
    expect(await introspect(tokens.access_token)).toMatchObject({ active: true, sub: user.userId, [ROLES]: { viewer: expect.any(Object) } });
    await client.tokenRevocation(config, tokens.access_token);
    expect((await userinfo(tokens.access_token)).status).toBe(401);
    expect(await introspect(tokens.access_token)).toEqual({ active: false });
  });

  test('opaque: not a JWT, and works the same', async () => {
    const app = await addApp(rt, inst.scope, projectId, { accessTokenType: 'opaque' });
    const { tokens } = await tokensFor(app);
    expect(() => decodeProtectedHeader(tokens.access_token)).toThrow();
    expect((await userinfo(tokens.access_token)).status).toBe(200);
    expect((await introspect(tokens.access_token)).active).toBe(true);
  });

  test('a JWT we did not sign is refused, even naming a real token', async () => {
    const app = await addApp(rt, inst.scope, projectId, { accessTokenType: 'jwt' });
    const { tokens } = await tokensFor(app);
    const real = decodeJwt(tokens.access_token);
    const { privateKey } = await generateKeyPair('RS256');
    const forged = await new SignJWT({ ...real })
      .setProtectedHeader({ alg: 'RS256', kid: decodeProtectedHeader(tokens.access_token).kid, typ: 'at+jwt' })
      .sign(privateKey);
    expect((await userinfo(forged)).status).toBe(401);
    expect(await introspect(forged)).toEqual({ active: false });
    expect((await userinfo(tokens.access_token)).status).toBe(200);
  });

  test('machine users with JWT tokens get them from client_credentials, roles inside', async () => {
    const machine = await addMachine(rt, inst.scope, inst.orgId);
    await grantRoles(inst.scope, machine.userId, projectId, inst.orgId, ['viewer']);
    const config = await discover({ issuer, clientId: machine.clientId, clientSecret: machine.clientSecret });
    const tokens = await client.clientCredentialsGrant(config, { scope: `urn:zitadel:iam:org:project:id:${projectId}:aud` });
    const { payload } = await jwtVerify(tokens.access_token, await jwks(), { issuer });
    expect(payload).toMatchObject({ sub: machine.userId, [ROLES]: { viewer: expect.any(Object) } });
    expect(payload.aud).toContain(projectId);
    expect((await introspect(tokens.access_token)).active).toBe(true);
  });

  test('only the client a token was issued to may revoke it', async () => {
    const app = await addApp(rt, inst.scope, projectId, { accessTokenType: 'opaque' });
    const { tokens } = await tokensFor(app);
    const res = await localRequest(new URL(`${issuer}/token/revocation`), {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic(api) },
      body: `token=${encodeURIComponent(tokens.access_token)}`,
    });
    expect(res.status).toBeGreaterThanOrEqual(200);
    expect((await userinfo(tokens.access_token)).status).toBe(200);
  });
});

describe('token endpoint forms (read by Tessera before oidc-provider)', () => {
  const post = (path: string, body: string, auth?: string) =>
    localRequest(new URL(`${issuer}${path}`), {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...(auth ? { authorization: auth } : {}) },
      body,
    });

  test('twenty client_credentials tokens at once are all issued, stored and introspected as active', async () => {
    const machine = await addMachine(rt, inst.scope, inst.orgId);
    await inst.scope.table('users').where({ id: machine.userId }).update({ access_token_type: 'opaque' });
    const auth = `Basic ${Buffer.from(`${encodeURIComponent(machine.clientId)}:${encodeURIComponent(machine.clientSecret)}`).toString('base64')}`;
    const body = `grant_type=client_credentials&scope=${encodeURIComponent(`urn:zitadel:iam:org:project:id:${projectId}:aud`)}`;
    const answers = await Promise.all(Array.from({ length: 20 }, () => post('/token', body, auth)));
    expect(answers.map((a) => a.status)).toEqual(Array(20).fill(200));
    const tokens = answers.map((a) => JSON.parse(a.body).access_token as string);
    expect(new Set(tokens).size).toBe(20);
    const seen = await Promise.all(tokens.map((t) => introspect(t)));
    expect(seen.map((s) => s.active)).toEqual(Array(20).fill(true));
  });

  test('a form over 56 KiB is refused with 413, and the next request on the server is answered', async () => {
    // 1 MiB: most of it still on its way when the 413 is decided.
    const res = await post('/token', `grant_type=client_credentials&pad=${'x'.repeat(1024 * 1024)}`, basic(api));
    expect(res.status).toBe(413);
    expect(JSON.parse(res.body)).toEqual({ error: 'invalid_request', error_description: 'request entity too large' });
    expect((await post('/token/introspection', 'token=unknown', basic(api))).status).toBe(200);
  });
});
