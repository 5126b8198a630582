/**
 * `npm run bench:redis-down`: how fast Tessera answers while Redis is down (docs/operations.md,
 * "Fail fast"). Tessera runs in this process on the test database ($TEST_DATABASE_URL, migrated;
 * `npm test` leaves it so) and a private redis-server, which is killed, then frozen (SIGSTOP: it
 * keeps its connections but stops answering). Prints the latency of requests that need Redis:
 * median, p99 and max over BENCH_REQUESTS (200) sequential requests each.
 */
import { API_SCOPE } from '../src/api/oidc-tokens.js';
import { PrivateRedis } from '../test/support/infra.js';
import { testInstance, testRuntime } from '../test/support/runtime.js';
import { addApp, addHuman, addProject, discover, localRequest, login, serveApp } from '../test/support/rp.js';

const N = Number(process.env.BENCH_REQUESTS ?? 200);

async function measure(label: string, run: () => Promise<number>, expected: number): Promise<string> {
  const times: number[] = [];
  const statuses = new Set<number>();
  for (let i = 0; i < N; i++) {
    const t = process.hrtime.bigint();
    statuses.add(await run());
    times.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  const first = times[0];
  times.sort((x, y) => x - y);
  const at = (q: number) => times[Math.min(times.length - 1, Math.floor(q * times.length))].toFixed(1);
  const ok = statuses.size === 1 && statuses.has(expected) ? '' : ` (statuses ${[...statuses].join(',')})`;
  return `| ${label} | ${expected}${ok} | ${first.toFixed(1)} | ${at(0.5)} | ${at(0.99)} | ${times[times.length - 1].toFixed(1)} |`;
}

const redis = await PrivateRedis.start();
const rt = await testRuntime({ redis: { url: redis.url }, log: { level: 'silent' } });
const server = await serveApp(rt);
try {
  const inst = await testInstance(rt, 'Redis down bench');
  const project = await addProject(inst.scope, inst.orgId);
  const app = await addApp(rt, inst.scope, project.projectId);
  const user = await addHuman(rt, inst.scope, inst.orgId);
  const issuer = `http://${inst.domain}:${server.port}`;
  const rp = { issuer, clientId: app.clientId, clientSecret: app.clientSecret, redirectUri: app.redirectUri };
  const config = await discover(rp);
  const signIn = async () =>
    (await login(config, rp, { loginName: user.loginName, password: user.password, scope: `openid ${API_SCOPE}` })).tokens.access_token;
  const userinfo = (token: string) => async () => (await localRequest(new URL(`${issuer}/me`), { headers: { authorization: `Bearer ${token}` } })).status;
  const authApi = (token: string) => async () =>
    (await localRequest(new URL(`${issuer}/auth/v1/users/me`), { headers: { authorization: `Bearer ${token}` } })).status;
  const readyz = async () => (await localRequest(new URL(`${issuer}/readyz`))).status;

  const rows: string[] = [];
  let token = await signIn();
  rows.push(await measure('userinfo, Redis up', userinfo(token), 200));
  await redis.kill();
  rows.push(await measure('userinfo, Redis killed', userinfo(token), 503));
  rows.push(await measure('Auth API /users/me, Redis killed', authApi(token), 503));
  rows.push(await measure('/readyz, Redis killed', readyz, 503));
  await redis.start();
  await new Promise((r) => setTimeout(r, 3000));
  token = await signIn();
  redis.freeze(true);
  rows.push(await measure('userinfo, Redis frozen (SIGSTOP)', userinfo(token), 503));
  redis.freeze(false);

  process.stdout.write(`\n${N} sequential requests each, times in ms (first = the first request after the fault)\n\n`);
  process.stdout.write('| request | status | first | median | p99 | max |\n| --- | --- | --- | --- | --- | --- |\n');
  process.stdout.write(`${rows.join('\n')}\n`);
} finally {
  await server.close();
  await rt.close();
  await redis.stop();
}
