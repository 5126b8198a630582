import type { Runtime } from '../../src/runtime/index.js';
import { testInstance, testRuntime, type TestInstance } from '../support/runtime.js';
import {
  addApp,
  addHuman,
  addProject,
  authorize,
  Browser,
  client,
  discover,
  localRequest,
  login,
  type AppFixture,
  type RpClient,
  serveApp,
} from '../support/rp.js';

let rt: Runtime;
let server: { port: number; close: () => Promise<void> };

interface Side {
  inst: TestInstance;
  issuer: string;
  app: AppFixture;
  api: AppFixture;
  user: Awaited<ReturnType<typeof addHuman>>;
  rp: RpClient;
  config: client.Configuration;
}
let a: Side;
let b: Side;

async function side(name: string): Promise<Side> {
  const inst = await testInstance(rt, name);
  const project = await addProject(inst.scope, inst.orgId);
  const app = await addApp(rt, inst.scope, project.projectId);
  const api = await addApp(rt, inst.scope, project.projectId, { type: 'api', grantTypes: [] });
  const user = await addHuman(rt, inst.scope, inst.orgId, { username: 'same-name' });
  const issuer = `http://${inst.domain}:${server.port}`;
  const rp = { issuer, clientId: app.clientId, clientSecret: app.clientSecret, redirectUri: app.redirectUri };
  return { inst, issuer, app, api, user, rp, config: await discover(rp) };
}

beforeAll(async () => {
  rt = await testRuntime();
  server = await serveApp(rt);
  a = await side('Side A');
  b = await side('Side B');
});
afterAll(async () => {
  await server.close();
  await rt.close();
});

const basic = (app: AppFixture) => `Basic ${Buffer.from(`${encodeURIComponent(app.clientId)}:${encodeURIComponent(app.clientSecret!)}`).toString('base64')}`;

async function introspectAt(s: Side, token: string) {
  const res = await localRequest(new URL(`${s.issuer}/token/introspection`), {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic(s.api) },
    body: `token=${encodeURIComponent(token)}`,
  });
  return JSON.parse(res.body);
}

describe('two instances on different hosts', () => {
  test('each has its own issuer and keys', async () => {
    expect(a.config.serverMetadata().issuer).toBe(a.issuer);
    expect(b.config.serverMetadata().issuer).toBe(b.issuer);
    const jwks = async (s: Side) => JSON.parse((await localRequest(new URL(`${s.issuer}/jwks`))).body).keys.map((k: { kid: string }) => k.kid);
    const [ka, kb] = [await jwks(a), await jwks(b)];
    expect(ka.filter((k: string) => kb.includes(k))).toEqual([]);
  });

  test("a token from one is inactive at the other's introspection and rejected at its userinfo", async () => {
    const { tokens } = await login(a.config, a.rp, { loginName: a.user.loginName, password: a.user.password });
    expect((await introspectAt(a, tokens.access_token)).active).toBe(true);
    expect(await introspectAt(b, tokens.access_token)).toEqual({ active: false });
    const res = await localRequest(new URL(`${b.issuer}/me`), { headers: { authorization: `Bearer ${tokens.access_token}` } });
    expect(res.status).toBe(401);
  });

  test('a client id of one is unknown at the other', async () => {
    const foreign = { ...b.rp, clientId: a.app.clientId, clientSecret: a.app.clientSecret, redirectUri: a.app.redirectUri };
    const out = await authorize(await discover(foreign), foreign, {});
    expect(out.callback).toBeUndefined();
    expect(out.page!.status).toBe(400);
    expect(out.page!.body).toContain('invalid_client');
    const token = await localRequest(new URL(`${b.issuer}/token`), {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic(a.app) },
      body: 'grant_type=client_credentials',
    });
    expect(token.status).toBe(401);
    expect(JSON.parse(token.body).error).toBe('invalid_client');
  });

  test('a session at one does not satisfy prompt=none at the other, even with its cookies copied over', async () => {
    const { browser } = await login(a.config, a.rp, { loginName: a.user.loginName, password: a.user.password });
    const atA = await authorize(a.config, a.rp, { browser, params: { prompt: 'none' } });
    expect(atA.callback!.searchParams.get('code')).toBeTruthy();
    const atB = await authorize(b.config, b.rp, { browser, params: { prompt: 'none' } });
    expect(atB.callback!.searchParams.get('error')).toBe('login_required');
    const bHost = new URL(b.issuer).host;
    const copied = new Browser();
    copied.cookies = browser.cookies.map((c) => ({ ...c, host: bHost }));
    const forged = await authorize(b.config, b.rp, { browser: copied, params: { prompt: 'none' } });
    expect(forged.callback!.searchParams.get('error')).toBe('login_required');
  });
});

describe('cookies', () => {
  test('_interaction and _session carry signatures', async () => {
    const started = await authorize(a.config, a.rp, {});
    expect(started.browser.find('_interaction')).toBeDefined();
    expect(started.browser.find('_interaction.sig')).toBeDefined();
    const { browser } = await login(a.config, a.rp, { loginName: a.user.loginName, password: a.user.password });
    expect(browser.find('_session')).toBeDefined();
    expect(browser.find('_session.sig')?.value).toMatch(/^[A-Za-z0-9_-]{20,}$/);
  });

  test('a tampered session cookie is rejected', async () => {
    const { browser } = await login(a.config, a.rp, { loginName: a.user.loginName, password: a.user.password });
    const victim = await login(a.config, a.rp, { loginName: a.user.loginName, password: a.user.password });
    // Someone else's session id under our signature: the signature no longer matches.
    browser.find('_session')!.value = victim.browser.find('_session')!.value;
    const out = await authorize(a.config, a.rp, { browser, params: { prompt: 'none' } });
    expect(out.callback!.searchParams.get('error')).toBe('login_required');
  });

  test('a tampered interaction cookie is rejected', async () => {
    const started = await authorize(a.config, a.rp, {});
    const cookie = started.browser.cookies.find((c) => c.name === '_interaction')!;
    cookie.value = `${cookie.value.slice(0, -1)}${cookie.value.endsWith('a') ? 'b' : 'a'}`;
    const page = await started.browser.request(started.page!.url);
    expect(page.status).toBe(400);
    expect(page.body).toContain('login.session_not_found');
  });
});

describe('unknown routes', () => {
  test('answer as OIDC errors', async () => {
    const res = await localRequest(new URL(`${a.issuer}/no/such/route`));
    expect(res.status).toBe(404);
    expect(JSON.parse(res.body)).toEqual({ error: 'invalid_request', error_description: 'unrecognized route or not allowed method' });
  });

  test('an unknown host is a 404 naming the host', async () => {
    const res = await localRequest(new URL(`http://nowhere.test:${server.port}/.well-known/openid-configuration`));
    expect(res.status).toBe(404);
    expect(res.body).toContain('nowhere.test');
  });
});
