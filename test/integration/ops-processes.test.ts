import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { eventually } from '../support/eventually.js';
import { PrivatePostgres, PrivateRedis } from '../support/infra.js';
import { freePort, startTessera, type Started } from '../support/process.js';
import { TEST_MASTER_KEY } from '../support/env.js';
import { newId } from '../../src/shared/ids.js';
import { request } from './api-client.js';

/**
 * Two Tessera processes (tsx src/main.ts) on one private PostgreSQL and one private Redis, as
 * behind a load balancer: a change made through one is served by the other; a PostgreSQL
 * restart costs 503s while it lasts and nothing after; SIGTERM drains (the request in flight is
 * answered with Connection: close, idle keep-alive sockets are closed, exit code 0).
 */

const SYSTEM_KEY = 'ops-test-system-key-0123456789';
const DRAINED = 'ops-process-b';
let postgres: PrivatePostgres;
let redis: PrivateRedis;
let dir: string;
let a: Started & { port: number };
let b: Started & { port: number };

async function boot(env: Record<string, string>): Promise<Started & { port: number }> {
  const port = await freePort();
  return { ...(await startTessera({ ...env, PORT: String(port) }, 90_000)), port };
}

beforeAll(async () => {
  [postgres, redis] = await Promise.all([PrivatePostgres.start(), PrivateRedis.start()]);
  dir = mkdtempSync(path.join(tmpdir(), 'tessera-ops-'));
  const config = path.join(dir, 'tessera.yaml');
  writeFileSync(config, `systemApiKeys:\n  - id: ops\n    key: "${SYSTEM_KEY}"\n`);
  const env = {
    DATABASE_URL: postgres.url(),
    REDIS_URL: redis.url,
    TESSERA_MASTER_KEY: TEST_MASTER_KEY,
    TESSERA_CONFIG: config,
    TESSERA_ADMIN_PASSWORD: 'Ops-Admin-Passw0rd!',
    TESSERA_SHUTDOWN_TIMEOUT_S: '60',
    LOG_FORMAT: 'json',
    LOG_LEVEL: 'info',
  };
  // One after the other: the first migrates and creates the first instance.
  a = await boot(env);
  // b's connections are named, so the drain test can tell its blocked query from anyone else's.
  b = await boot({ ...env, DATABASE_URL: `${postgres.url()}?application_name=${DRAINED}` });
}, 240_000);
afterAll(async () => {
  await Promise.all([a?.stop(), b?.stop()]);
  await Promise.all([postgres?.destroy(), redis?.stop()]);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const system = (port: number, method: string, p: string, body?: unknown) => request(port, 'localhost', method, `/system/v1${p}`, { token: SYSTEM_KEY, body });
const discovery = (port: number, host: string) => request(port, host, 'GET', '/.well-known/openid-configuration');

async function firstInstanceId(): Promise<string> {
  return (await system(a.port, 'GET', '/instances')).body.result[0].id;
}

test('two processes: a domain added through one is served by the other at once', async () => {
  const domain = `two-${newId()}.example`;
  // The other process has looked the host up before (and remembers that nothing is there).
  expect((await discovery(b.port, domain)).status).toBe(404);
  expect((await system(a.port, 'POST', `/instances/${await firstInstanceId()}/domains`, { domain })).status).toBeLessThan(300);
  const served = await eventually(
    () => discovery(b.port, domain),
    (r) => r.status === 200,
  );
  expect(served.status).toBe(200);
  expect(served.body.issuer).toBe(`http://${domain}`);
});

test('a PostgreSQL restart: 503 with Retry-After while it is down, everything back once it is up', async () => {
  await postgres.stop();
  try {
    for (const port of [a.port, b.port]) {
      const ready = await request(port, 'localhost', 'GET', '/readyz');
      expect(ready.status).toBe(503);
      expect(ready.body.checks.database.status).toBe('down');
      const api = await system(port, 'GET', '/instances');
      expect(api.status).toBe(503);
      expect(api.headers['retry-after']).toBeDefined();
      expect(api.body).toMatchObject({ code: 'unavailable', dependency: 'database' });
      expect((await request(port, 'localhost', 'GET', '/livez')).status).toBe(200);
    }
  } finally {
    await postgres.start();
  }
  for (const port of [a.port, b.port]) {
    expect(
      (
        await eventually(
          () => request(port, 'localhost', 'GET', '/readyz'),
          (r) => r.status === 200,
          15_000,
        )
      ).status,
    ).toBe(200);
    expect(
      (
        await eventually(
          () => system(port, 'GET', '/instances'),
          (r) => r.status === 200,
          15_000,
        )
      ).status,
    ).toBe(200);
  }
});

/** A raw HTTP/1.1 exchange on its own socket, so the test sees exactly what the server does with it. */
function rawRequest(port: number, host: string, p: string) {
  const socket = net.connect(port, '127.0.0.1');
  let data = '';
  socket.on('data', (d) => {
    data += d;
  });
  const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
  const answered = new Promise<{ status: number; headers: string }>((resolve) => {
    socket.on('data', () => {
      const end = data.indexOf('\r\n\r\n');
      if (end >= 0) resolve({ status: Number(data.slice(9, 12)), headers: data.slice(0, end).toLowerCase() });
    });
  });
  socket.write(`GET ${p} HTTP/1.1\r\nHost: ${host}\r\nConnection: keep-alive\r\n\r\n`);
  return { socket, answered, closed };
}

test('SIGTERM drains: the request in flight is answered with Connection: close, idle sockets are closed, exit code 0', async () => {
  // Each step below waits on its own limit; on a failure, the draining process's log tells which.
  const failing = setTimeout(() => process.stderr.write(`ops-processes: the draining process's log so far:\n${b.output().slice(-6000)}\n`), 80_000);
  try {
    await drainsOnSigterm();
  } finally {
    clearTimeout(failing);
  }
}, 100_000);

async function drainsOnSigterm() {
  const domain = `drain-${newId()}.example`;
  expect((await system(a.port, 'POST', `/instances/${await firstInstanceId()}/domains`, { domain })).status).toBeLessThan(300);

  // An idle keep-alive connection: answered once, then left open by the client (the server keeps
  // idle connections 65 s, so only the drain closes it here).
  const idle = rawRequest(b.port, 'localhost', '/livez');
  expect((await idle.answered).status).toBe(200);

  // A request held in flight: its host lookup waits on a lock taken here. The wait is b's own
  // (its connections' name): another process's query blocked on the same lock would let the test
  // stop b before b had even read the request, and then nothing would ever answer it.
  const locker = new pg.Client({ connectionString: postgres.url() });
  locker.on('error', () => undefined);
  await locker.connect();
  await locker.query('BEGIN');
  await locker.query('LOCK TABLE instance_domains IN ACCESS EXCLUSIVE MODE');
  const inFlight = rawRequest(b.port, domain, '/.well-known/openid-configuration');
  const waiting = await eventually(
    async () =>
      (
        await locker.query(
          "SELECT count(*)::int AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query ILIKE '%instance_domains%' AND application_name = $1",
          [DRAINED],
        )
      ).rows[0].n as number,
    (n) => n > 0,
    10_000,
  );
  expect(waiting).toBeGreaterThan(0);

  const exited = new Promise<number | null>((resolve) => b.child.once('exit', (code) => resolve(code)));
  b.child.kill('SIGTERM');
  await eventually(
    async () => b.output(),
    (out) => out.includes('draining connections'),
    30_000,
  );
  await idle.closed; // the server closed the idle connection
  // No new connections are accepted.
  await expect(
    new Promise((resolve, reject) => {
      const s = net.connect(b.port, '127.0.0.1', () => {
        s.destroy();
        resolve('connected');
      });
      s.on('error', reject);
    }),
  ).rejects.toMatchObject({ code: 'ECONNREFUSED' });

  await locker.query('COMMIT');
  await locker.end();
  const answer = await inFlight.answered;
  expect(answer.status).toBe(200);
  expect(answer.headers).toContain('connection: close');
  await inFlight.closed;
  expect(await exited).toBe(0);
  expect(b.output()).toContain('"clean":true');
}
