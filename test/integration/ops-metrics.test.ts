import http from 'node:http';
import { Writable } from 'node:stream';
import Koa from 'koa';
import { createLogger, requestLogging } from '../../src/ops/logging.js';
import type { Runtime } from '../../src/runtime/index.js';
import { testInstance, testRuntime, type TestInstance } from '../support/runtime.js';
import { addApp, addHuman, addProject, authorize, client, discover, listen, localRequest, login, serveApp, type RpClient } from '../support/rp.js';

/** /metrics counts what operators watch, with bounded labels; every log line of a request names its id. */

let rt: Runtime;
let server: { port: number; close: () => Promise<void> };
let inst: TestInstance;
let rp: RpClient;
let config: client.Configuration;

beforeAll(async () => {
  rt = await testRuntime();
  server = await serveApp(rt);
  inst = await testInstance(rt, 'Metrics');
  const project = await addProject(inst.scope, inst.orgId);
  const app = await addApp(rt, inst.scope, project.projectId);
  rp = { issuer: `http://${inst.domain}:${server.port}`, clientId: app.clientId, clientSecret: app.clientSecret, redirectUri: app.redirectUri };
  config = await discover(rp);
});
afterAll(async () => {
  await server.close();
  await rt.close();
});

const metric = (text: string, name: string, labels: string) => {
  const line = text.split('\n').find((l) => l.startsWith(`${name}{${labels}}`));
  return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : 0;
};

test('sign-ins by outcome and reason, tokens by grant type, caches, pool, database and Redis', async () => {
  const user = await addHuman(rt, inst.scope, inst.orgId);
  const wrong = await authorize(config, rp, { loginName: user.loginName, password: 'not-the-password' });
  expect(wrong.callback).toBeUndefined();
  const { tokens } = await login(config, rp, { loginName: user.loginName, password: user.password, scope: 'openid offline_access' });
  await client.refreshTokenGrant(config, tokens.refresh_token!);
  await client.fetchUserInfo(config, tokens.access_token, user.userId);

  const res = await localRequest(new URL(`http://127.0.0.1:${server.port}/metrics`));
  expect(res.status).toBe(200);
  expect(res.headers['content-type']).toContain('text/plain');
  const text = res.body;
  expect(metric(text, 'tessera_sign_ins_total', 'outcome="success",reason="password"')).toBeGreaterThanOrEqual(1);
  expect(metric(text, 'tessera_sign_ins_total', 'outcome="failure",reason="password_invalid"')).toBeGreaterThanOrEqual(1);
  expect(metric(text, 'tessera_tokens_issued_total', 'grant_type="authorization_code"')).toBeGreaterThanOrEqual(1);
  expect(metric(text, 'tessera_tokens_issued_total', 'grant_type="refresh_token"')).toBeGreaterThanOrEqual(1);
  expect(metric(text, 'tessera_cache_requests_total', 'cache="clients",result="hit"')).toBeGreaterThanOrEqual(1);
  expect(metric(text, 'tessera_provider_builds_total', 'result="ok"')).toBeGreaterThanOrEqual(1);
  expect(text).toMatch(/^tessera_provider_pool_size [1-9]/m);
  expect(text).toMatch(/^tessera_db_pool_connections\{state="max"\} \d+/m);
  expect(metric(text, 'tessera_redis_up', 'connection="oidc"')).toBe(1);
  expect(metric(text, 'tessera_http_requests_total', 'group="oidc_token",status="200"')).toBeGreaterThanOrEqual(2);
  expect(text).toContain('tessera_http_request_duration_seconds_bucket{le="0.1",group="oidc_userinfo",status="200"}');
  // Bounded labels: nothing names a user, a client or an instance.
  for (const id of [user.userId, rp.clientId, inst.instanceId]) expect(text).not.toContain(id);
});

test('every log line written while a request is handled carries its request id, which the response header repeats', async () => {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      lines.push(JSON.parse(String(chunk)));
      done();
    },
  });
  const log = createLogger({ level: 'info', destination: sink });
  const app = new Koa();
  app.use(requestLogging(log));
  app.use(async (ctx) => {
    log.warn({ step: 'inside' }, 'some module logs');
    ctx.body = 'ok';
  });
  const srv = await listen(http.createServer(app.callback()));
  try {
    const given = await localRequest(new URL(`http://127.0.0.1:${srv.port}/x`), { headers: { 'x-request-id': 'lb-request-0001' } });
    expect(given.headers['x-request-id']).toBe('lb-request-0001');
    const made = await localRequest(new URL(`http://127.0.0.1:${srv.port}/y`));
    const id = made.headers['x-request-id'] as string;
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    await new Promise((r) => setImmediate(r));
    expect(lines.filter((l) => l.reqId === 'lb-request-0001').map((l) => l.msg)).toEqual(['some module logs', 'request']);
    expect(lines.filter((l) => l.reqId === id).map((l) => l.msg)).toEqual(['some module logs', 'request']);
    expect(lines.every((l) => typeof l.reqId === 'string')).toBe(true);
  } finally {
    await srv.close();
  }
});
