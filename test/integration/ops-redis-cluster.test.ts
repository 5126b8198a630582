import type { Runtime } from '../../src/runtime/index.js';
import { eventually } from '../support/eventually.js';
import { PrivateRedisCluster } from '../support/infra.js';
import { testInstance, testRuntime, type TestInstance } from '../support/runtime.js';
import { addApp, addHuman, addProject, client, discover, serveApp, localRequest, login, type RpClient } from '../support/rp.js';

/**
 * Tessera on a real three-master Redis Cluster (redis.mode cluster), started from the
 * redis-server binary on private ports: sign-in, tokens, refresh and revocation work with keys
 * spread over the masters (hash tags keep only what one command touches on one slot), and
 * change notices published through one node reach subscribers on the others.
 */

let cluster: PrivateRedisCluster;
let rt: Runtime;
let other: Runtime;
let server: { port: number; close: () => Promise<void> };
let inst: TestInstance;
let rp: RpClient;
let config: client.Configuration;

beforeAll(async () => {
  cluster = await PrivateRedisCluster.start();
  rt = await testRuntime({ redis: { url: cluster.url, mode: 'cluster' } });
  other = await testRuntime({ redis: { url: cluster.url, mode: 'cluster' } });
  server = await serveApp(rt);
  inst = await testInstance(rt, 'Cluster');
  const project = await addProject(inst.scope, inst.orgId);
  const app = await addApp(rt, inst.scope, project.projectId);
  rp = { issuer: `http://${inst.domain}:${server.port}`, clientId: app.clientId, clientSecret: app.clientSecret, redirectUri: app.redirectUri };
  config = await discover(rp);
}, 60_000);
afterAll(async () => {
  await server?.close();
  await rt?.close();
  await other?.close();
  await cluster?.stop();
});

const userinfo = async (accessToken: string) =>
  (await localRequest(new URL(`${rp.issuer}/me`), { headers: { authorization: `Bearer ${accessToken}` } })).status;

test('sign-in, userinfo, refresh and revocation work on the cluster, with state spread over its masters', async () => {
  const users = await Promise.all([0, 1, 2].map(() => addHuman(rt, inst.scope, inst.orgId)));
  const sessions = [];
  for (const u of users) sessions.push((await login(config, rp, { loginName: u.loginName, password: u.password, scope: 'openid offline_access' })).tokens);
  for (const t of sessions) expect(await userinfo(t.access_token)).toBe(200);

  const refreshed = await client.refreshTokenGrant(config, sessions[0].refresh_token!);
  expect(await userinfo(refreshed.access_token)).toBe(200);

  // Revoking the refresh token revokes its grant: every access token of it goes, whichever slot it lives on.
  await client.tokenRevocation(config, refreshed.refresh_token!);
  expect(await userinfo(refreshed.access_token)).toBe(401);
  expect(await userinfo(sessions[0].access_token)).toBe(401);
  expect(await userinfo(sessions[1].access_token)).toBe(200);

  const sizes = await Promise.all(cluster.nodes.map(async (n) => Number(await n.command('DBSIZE'))));
  expect(sizes.filter((s) => s > 0).length).toBeGreaterThan(1);
});

test("a change notice published through one process reaches another process's subscriber across the cluster", async () => {
  const heard: string[] = [];
  other.deps.changes.subscribe((id) => heard.push(id));
  const got = await eventually(
    async () => {
      await rt.deps.changes.publish(inst.instanceId);
      return heard;
    },
    (h) => h.includes(inst.instanceId),
    10_000,
  );
  expect(got).toContain(inst.instanceId);
});
