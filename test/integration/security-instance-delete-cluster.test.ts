import type { Runtime } from '../../src/runtime/index.js';
import { PrivateRedisCluster } from '../support/infra.js';
import { testInstance, testRuntime, type TestInstance } from '../support/runtime.js';
import { addApp, addHuman, addProject, discover, login, type RpClient } from '../support/rp.js';
import { request, serve, type Served } from './api-client.js';

/**
 * On a Redis Cluster an instance's keys lie on every master (their hash tags are token ids, not
 * the instance): deleting the instance finds and removes them on each one.
 */
const SYSTEM_KEY = 'system-key-for-cluster-deletion';
let cluster: PrivateRedisCluster;
let rt: Runtime;
let server: Served;
let inst: TestInstance;
let rp: RpClient;

beforeAll(async () => {
  cluster = await PrivateRedisCluster.start();
  rt = await testRuntime({ redis: { url: cluster.url, mode: 'cluster' }, systemApiKeys: [{ id: 'ops', key: SYSTEM_KEY }] });
  server = await serve(rt);
  inst = await testInstance(rt, 'Cluster deletion');
  const app = await addApp(rt, inst.scope, (await addProject(inst.scope, inst.orgId)).projectId);
  rp = { issuer: `http://${inst.domain}:${server.port}`, clientId: app.clientId, clientSecret: app.clientSecret, redirectUri: app.redirectUri };
}, 60_000);
afterAll(async () => {
  await server?.close();
  await rt?.close();
  await cluster?.stop();
});

/** The instance's keys on each master, found with SCAN. */
async function keysPerNode(): Promise<number[]> {
  return Promise.all(
    cluster.nodes.map(async (n) => {
      let cursor = '0';
      let count = 0;
      do {
        const [next, keys] = (await n.command('SCAN', cursor, 'MATCH', `*${inst.instanceId}*`, 'COUNT', '1000')) as [string, string[]];
        cursor = next;
        count += keys.length;
      } while (cursor !== '0');
      return count;
    }),
  );
}

test('deleting an instance removes its keys from every master', async () => {
  const config = await discover(rp);
  for (let i = 0; i < 6; i++) {
    const u = await addHuman(rt, inst.scope, inst.orgId);
    await login(config, rp, { loginName: u.loginName, password: u.password });
  }
  const before = await keysPerNode();
  expect(before.filter((n) => n > 0).length).toBeGreaterThan(1);

  const deleted = await request(server.port, inst.domain, 'DELETE', `/system/v1/instances/${inst.instanceId}`, { token: SYSTEM_KEY });
  expect(deleted.status).toBe(204);
  expect(await keysPerNode()).toEqual([0, 0, 0]);
});
