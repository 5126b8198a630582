import { decodeJwt } from 'jose';
import type { Runtime } from '../../src/runtime/index.js';
import { testInstance, testRuntime, type TestInstance } from '../support/runtime.js';
import { addApp, addHuman, addMachine, addProject, discover, localRequest, login, serveApp, type AppFixture, type RpClient } from '../support/rp.js';

/**
 * Relying parties written for ZITADEL read more of an introspection answer than RFC 7662 asks:
 * `aud` (the client id and the project ids), `username` (the preferred login name), `iss`, `jti`
 * and `nbf`. And with the project audience scope, the ID token names the projects in `aud` too.
 */
let rt: Runtime;
let server: { port: number; close: () => Promise<void> };
let inst: TestInstance;
let issuer: string;
let projectId: string;
let otherProjectId: string;
let app: AppFixture;
let api: AppFixture;
let user: Awaited<ReturnType<typeof addHuman>>;
let rp: RpClient;

beforeAll(async () => {
  rt = await testRuntime();
  server = await serveApp(rt);
  inst = await testInstance(rt, 'Introspection');
  issuer = `http://${inst.domain}:${server.port}`;
  ({ projectId } = await addProject(inst.scope, inst.orgId));
  ({ projectId: otherProjectId } = await addProject(inst.scope, inst.orgId));
  app = await addApp(rt, inst.scope, projectId, { accessTokenType: 'opaque' });
  api = await addApp(rt, inst.scope, projectId, { type: 'api', grantTypes: [] });
  user = await addHuman(rt, inst.scope, inst.orgId);
  rp = { issuer, clientId: app.clientId, clientSecret: app.clientSecret, redirectUri: app.redirectUri };
});
afterAll(async () => {
  await server.close();
  await rt.close();
});

const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;

async function introspect(caller: { clientId: string; clientSecret?: string }, token: string) {
  const res = await localRequest(new URL(`${issuer}/token/introspection`), {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic(caller.clientId, caller.clientSecret!) },
    body: new URLSearchParams({ token }).toString(),
  });
  expect(res.status).toBe(200);
  return JSON.parse(res.body);
}

const signIn = async (scope: string) => (await login(await discover(rp), rp, { loginName: user.loginName, password: user.password, scope })).tokens;

test("a user's access token: aud, username, iss, jti and nbf, as ZITADEL answers them", async () => {
  const tokens = await signIn('openid profile');
  const answer = await introspect(api, tokens.access_token);
  expect(answer).toMatchObject({
    active: true,
    client_id: app.clientId,
    sub: user.userId,
    aud: [app.clientId, projectId],
    username: user.loginName,
    iss: issuer,
    token_type: 'Bearer',
  });
  expect(typeof answer.jti).toBe('string');
  expect(answer.jti.length).toBeGreaterThan(0);
  expect(answer.nbf).toBe(answer.iat);
  // The client itself gets the same answer.
  expect(await introspect(app, tokens.access_token)).toMatchObject({ aud: [app.clientId, projectId], username: user.loginName, nbf: answer.iat });
});

test('the project audience scope adds its project to aud, at introspection and in the ID token', async () => {
  const audScope = `urn:zitadel:iam:org:project:id:${otherProjectId}:aud`;
  const tokens = await signIn(`openid ${audScope}`);
  expect((await introspect(api, tokens.access_token)).aud).toEqual([app.clientId, projectId, otherProjectId]);
  const idToken = decodeJwt(tokens.id_token!);
  expect(idToken.aud).toEqual([app.clientId, projectId, otherProjectId]);
  // Several audiences: the authorized party is the client (OpenID Connect Core 2, azp).
  expect(idToken.azp).toBe(app.clientId);
});

test('without an audience scope the ID token is for the client alone', async () => {
  const tokens = await signIn('openid');
  expect(decodeJwt(tokens.id_token!).aud).toBe(app.clientId);
});

test("a machine user's client_credentials token: username is the machine's login name", async () => {
  const machine = await addMachine(rt, inst.scope, inst.orgId);
  const res = await localRequest(new URL(`${issuer}/token`), {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic(machine.clientId, machine.clientSecret) },
    body: new URLSearchParams({ grant_type: 'client_credentials', scope: `openid urn:zitadel:iam:org:project:id:${projectId}:aud` }).toString(),
  });
  expect(res.status).toBe(200);
  const answer = await introspect(api, JSON.parse(res.body).access_token);
  expect(answer).toMatchObject({ active: true, sub: machine.userId, aud: [machine.clientId, projectId], iss: issuer });
  expect(answer.username).toBe(`${machine.username}@${user.loginName.split('@')[1]}`);
});

describe('acr (issue 11, item 14)', () => {
  test('discovery lists amr and acr among the claims, and the acr values', async () => {
    const discovery = JSON.parse((await localRequest(new URL(`${issuer}/.well-known/openid-configuration`))).body);
    expect(discovery.claims_supported).toEqual(expect.arrayContaining(['amr', 'acr']));
    expect(discovery.acr_values_supported).toEqual(['urn:tessera:acr:1fa', 'urn:tessera:acr:mfa']);
  });

  test('a password sign-in asked for acr_values gets the single-factor class in its ID token', async () => {
    const { tokens } = await login(await discover(rp), rp, {
      loginName: user.loginName,
      password: user.password,
      scope: 'openid',
      params: { acr_values: 'urn:tessera:acr:mfa urn:tessera:acr:1fa' },
    });
    const idToken = decodeJwt(tokens.id_token!);
    expect(idToken.acr).toBe('urn:tessera:acr:1fa');
    expect(idToken.amr).toEqual(['pwd']);
  });
});
