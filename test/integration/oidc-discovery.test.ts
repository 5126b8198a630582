import type { Runtime } from '../../src/runtime/index.js';
import { testInstance, testRuntime } from '../support/runtime.js';
import { serveApp } from '../support/rp.js';
import { request, type Reply } from './api-client.js';

/**
 * The discovery document is kept per provider once oidc-provider has answered it
 * (src/oidc/discovery-cache.ts). What a relying party sees must not change: every later answer is
 * the first one, byte for byte and header for header, and the endpoints follow the host the
 * request names, as oidc-provider writes them.
 */
let rt: Runtime;
let server: Awaited<ReturnType<typeof serveApp>>;
beforeAll(async () => {
  rt = await testRuntime();
  server = await serveApp(rt);
});
afterAll(async () => {
  await server.close();
  await rt.close();
});

const PATH = '/.well-known/openid-configuration';
const discovery = (host: string, headers: Record<string, string> = {}) => request(server.port, host, 'GET', PATH, { headers });

/** The headers a relying party could act on: all but the ones that differ per response anyway. */
const lasting = (r: Reply) => {
  const { date: _date, 'x-request-id': _id, ...rest } = r.headers;
  return rest;
};

test.each([
  ['with an Origin header (CORS names it)', { origin: 'https://rp.example' }],
  ['without one (CORS answers *)', {} as Record<string, string>],
])('answered again %s: the same document and headers as the first answer', async (_case, headers) => {
  // A new instance: its provider has answered nothing yet, so the first answer is oidc-provider's own.
  const inst = await testInstance(rt, 'Discovery');
  const host = `${inst.domain}:${server.port}`;
  const first = await discovery(host, headers);
  expect(first.status).toBe(200);
  expect(first.headers['access-control-allow-origin']).toBe(headers.origin ?? '*');
  for (let i = 0; i < 3; i++) {
    const again = await discovery(host, headers);
    expect(again.status).toBe(200);
    expect(again.text).toBe(first.text);
    expect(lasting(again)).toEqual(lasting(first));
  }
  // Another origin on the same provider gets its own CORS answer, the same document.
  const other = await discovery(host, { origin: 'https://other.example' });
  expect(other.headers['access-control-allow-origin']).toBe('https://other.example');
  expect(other.text).toBe(first.text);
});

test('the endpoints follow the host as the request spells it, as oidc-provider writes them, whatever was answered before', async () => {
  const inst = await testInstance(rt, 'Discovery hosts');
  const dotted = `${inst.domain}.:${server.port}`;
  const plain = `${inst.domain}:${server.port}`;
  const firstDotted = await discovery(dotted);
  const firstPlain = await discovery(plain);
  // One provider (the issuer is the normalised origin), two spellings of its host.
  expect(firstDotted.body.issuer).toBe(firstPlain.body.issuer);
  expect(firstDotted.body.token_endpoint).not.toBe(firstPlain.body.token_endpoint);
  expect((await discovery(dotted)).text).toBe(firstDotted.text);
  expect((await discovery(plain)).text).toBe(firstPlain.text);
  expect((await discovery(plain.toUpperCase())).body.token_endpoint).toBe(firstPlain.body.token_endpoint);
});
