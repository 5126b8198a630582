import type { Runtime } from '../../src/runtime/index.js';
import { testInstance, testRuntime, type TestInstance } from '../support/runtime.js';
import { localRequest, serveApp, type HttpResponse } from '../support/rp.js';

/** Every response carries the security headers: pages against framing and sniffing, JSON against sniffing; HSTS under https. */
let rt: Runtime;
let server: Awaited<ReturnType<typeof serveApp>>;
let inst: TestInstance;

beforeAll(async () => {
  // The test's own address is a trusted proxy, so X-Forwarded-Proto: https stands for a TLS front end.
  rt = await testRuntime({ server: { trustedProxies: ['127.0.0.1'] } });
  server = await serveApp(rt);
  inst = await testInstance(rt, 'Headers');
});
afterAll(async () => {
  await server.close();
  await rt.close();
});

const get = (path: string, headers: Record<string, string> = {}) => localRequest(new URL(`http://${inst.domain}:${server.port}${path}`), { headers });

function expectPageHeaders(res: HttpResponse): void {
  expect(res.headers['content-type']).toMatch(/text\/html/);
  expect(res.headers['content-security-policy']).toMatch(/frame-ancestors 'none'/);
  expect(res.headers['content-security-policy']).not.toMatch(/unsafe-inline|unsafe-eval/);
  expect(res.headers['x-frame-options']).toBe('DENY');
  expect(res.headers['x-content-type-options']).toBe('nosniff');
  expect(res.headers['referrer-policy']).toMatch(/no-referrer|same-origin/);
}

describe('HTML responses', () => {
  test("oidc-provider's sign-out confirmation (/session/end) cannot be framed", async () => {
    const res = await get('/session/end', { accept: 'text/html' });
    expect(res.status).toBe(200);
    expect(res.body).toContain('<form');
    expectPageHeaders(res);
  });

  test('the /auth error page (an unknown client, nowhere to redirect) cannot be framed', async () => {
    const res = await get('/auth?client_id=nobody&response_type=code&scope=openid&redirect_uri=https%3A%2F%2Fevil.example%2Fcb', { accept: 'text/html' });
    expect(res.status).toBe(400);
    expectPageHeaders(res);
  });

  test('the front door, the console and the account page carry the same', async () => {
    for (const path of ['/', '/ui/console', '/ui/account']) {
      const res = await get(path, { accept: 'text/html' });
      if (res.status >= 300 && res.status < 400) {
        expect(res.headers['x-frame-options']).toBe('DENY');
        continue;
      }
      expectPageHeaders(res);
    }
  });
});

describe('JSON responses', () => {
  test('discovery, JWKS and an API error carry nosniff and a referrer policy, and no HSTS over plain http', async () => {
    for (const path of ['/.well-known/openid-configuration', '/oauth/v2/keys', '/management/v1/orgs/me']) {
      const res = await get(path);
      expect(res.headers['content-type']).toMatch(/json/);
      expect(res.headers['x-content-type-options']).toBe('nosniff');
      expect(res.headers['referrer-policy']).toBe('no-referrer');
      expect(res.headers['strict-transport-security']).toBeUndefined();
    }
  });

  test('under https (behind a trusted TLS proxy) every response carries HSTS', async () => {
    for (const path of ['/.well-known/openid-configuration', '/session/end', '/healthz']) {
      const res = await get(path, { 'x-forwarded-proto': 'https', accept: 'text/html' });
      expect(res.headers['strict-transport-security']).toMatch(/max-age=\d{7,}/);
    }
  });
});
