import type { Runtime } from '../../src/runtime/index.js';
import { newId } from '../../src/shared/ids.js';
import { eventually } from '../support/eventually.js';
import { testInstance, testRuntime, type TestInstance } from '../support/runtime.js';
import { serveApp } from '../support/rp.js';
import { request } from './api-client.js';

/**
 * The issuer is the instance's origin as the Host header names it, normalised: the host in lower
 * case (and without a trailing dot), the scheme's default port dropped, any other port kept (a
 * server on a non-default port is only reachable there). A host that answered 404 is looked up
 * again once an instance or a domain is created, in every process.
 */
const SYSTEM_KEY = 'system-key-for-host-tests';
let rt: Runtime;
let rt2: Runtime;
let one: Awaited<ReturnType<typeof serveApp>>;
let two: Awaited<ReturnType<typeof serveApp>>;
let inst: TestInstance;

beforeAll(async () => {
  rt = await testRuntime({ systemApiKeys: [{ id: 'ops', key: SYSTEM_KEY }] });
  // A second process: its own runtime (database pool, Redis change bus), its own server.
  rt2 = await testRuntime({ systemApiKeys: [{ id: 'ops', key: SYSTEM_KEY }] });
  one = await serveApp(rt);
  two = await serveApp(rt2);
  inst = await testInstance(rt, 'Hosts');
});
afterAll(async () => {
  await one.close();
  await two.close();
  await rt.close();
  await rt2.close();
});

const discovery = (port: number, host: string) => request(port, host, 'GET', '/.well-known/openid-configuration');

describe('the issuer', () => {
  test('is in lower case whatever the case of the Host header', async () => {
    const res = await discovery(one.port, `${inst.domain.toUpperCase()}:${one.port}`);
    expect(res.status).toBe(200);
    expect(res.body.issuer).toBe(`http://${inst.domain}:${one.port}`);
    expect(res.body.token_endpoint).toBe(`http://${inst.domain}:${one.port}/token`);
  });

  test("drops the scheme's default port, and keeps any other", async () => {
    expect((await discovery(one.port, `${inst.domain}:80`)).body.issuer).toBe(`http://${inst.domain}`);
    expect((await discovery(one.port, inst.domain)).body.issuer).toBe(`http://${inst.domain}`);
    expect((await discovery(one.port, `${inst.domain}:8443`)).body.issuer).toBe(`http://${inst.domain}:8443`);
  });

  test('ignores a trailing dot', async () => {
    const res = await discovery(one.port, `${inst.domain}.:${one.port}`);
    expect(res.status).toBe(200);
    expect(res.body.issuer).toBe(`http://${inst.domain}:${one.port}`);
  });
});

describe('an unknown host', () => {
  test('answers 404 until an instance is created on it, then serves it, in every process', async () => {
    const domain = `late-${newId()}.test`;
    expect((await discovery(one.port, domain)).status).toBe(404);
    expect((await discovery(two.port, domain)).status).toBe(404);
    const created = await request(one.port, inst.domain, 'POST', '/system/v1/instances', {
      token: SYSTEM_KEY,
      body: { name: 'Late', domains: [domain], orgName: 'Late Org', admin: { username: 'admin', email: 'admin@example.com', password: 'Late-Passw0rd!' } },
    });
    expect(created.status).toBe(201);
    expect((await discovery(one.port, domain)).status).toBe(200);
    // The other process hears of it through the change bus (Redis), milliseconds later.
    expect(
      (
        await eventually(
          () => discovery(two.port, domain),
          (r) => r.status === 200,
        )
      ).status,
    ).toBe(200);
  });

  test('answers 404 until it is added as a domain of an instance, then serves it, in every process', async () => {
    const domain = `added-${newId()}.test`;
    expect((await discovery(one.port, domain)).status).toBe(404);
    expect((await discovery(two.port, domain)).status).toBe(404);
    const added = await request(one.port, inst.domain, 'POST', `/system/v1/instances/${inst.instanceId}/domains`, { token: SYSTEM_KEY, body: { domain } });
    expect(added.status).toBe(204);
    expect((await discovery(one.port, domain)).status).toBe(200);
    expect(
      (
        await eventually(
          () => discovery(two.port, domain),
          (r) => r.status === 200,
        )
      ).status,
    ).toBe(200);
  });

  test('without Redis (one process, its own change bus): served as soon as the instance is created', async () => {
    // No other process's notice can clear the cache here by chance, as on a shared Redis.
    const solo = await testRuntime({ redis: { url: '' }, systemApiKeys: [{ id: 'ops', key: SYSTEM_KEY }] });
    const server = await serveApp(solo);
    try {
      const domain = `solo-${newId()}.test`;
      expect((await discovery(server.port, domain)).status).toBe(404);
      const created = await request(server.port, inst.domain, 'POST', '/system/v1/instances', {
        token: SYSTEM_KEY,
        body: { name: 'Solo', domains: [domain], orgName: 'Solo Org', admin: { username: 'admin', email: 'admin@example.com', password: 'Solo-Passw0rd!' } },
      });
      expect(created.status).toBe(201);
      expect((await discovery(server.port, domain)).status).toBe(200);
    } finally {
      await server.close();
      await solo.close();
    }
  });

  test('an instance created with a domain in capitals is served at it', async () => {
    const domain = `Caps-${newId()}.TEST`;
    const created = await request(one.port, inst.domain, 'POST', '/system/v1/instances', {
      token: SYSTEM_KEY,
      body: { name: 'Caps', domains: [domain], orgName: 'Caps Org', admin: { username: 'admin', email: 'admin@example.com', password: 'Caps-Passw0rd!' } },
    });
    expect(created.status).toBe(201);
    const res = await discovery(one.port, domain.toLowerCase());
    expect(res.status).toBe(200);
    expect(res.body.issuer).toBe(`http://${domain.toLowerCase()}`);
  });
});
