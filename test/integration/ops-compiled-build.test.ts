import { spawn } from 'node:child_process';
import path from 'node:path';
import { eventually } from '../support/eventually.js';
import { freePort, run } from '../support/process.js';
import { TEST_DATABASE_URL, TEST_MASTER_KEY, TEST_REDIS_URL } from '../support/env.js';

/**
 * The production artifact: the build (`npm run build` compiles with scripts/build.mjs after the
 * type check) boots on plain Node, without tsx, finds its config, views and migrations from
 * dist/, and serves /livez, /readyz and /metrics; SIGTERM ends it with exit code 0.
 */
const PATH = `${path.resolve('node_modules/.bin')}:${process.env.PATH ?? ''}`;

test('the compiled build serves health, metrics and request ids, logs JSON lines, and exits 0 on SIGTERM', async () => {
  const built = await run('node', ['scripts/build.mjs'], {});
  expect(built.code).toBe(0);
  const port = await freePort();
  const child = spawn('node', ['dist/src/main.js'], {
    env: {
      PATH,
      HOME: process.env.HOME ?? '',
      PORT: String(port),
      DATABASE_URL: TEST_DATABASE_URL,
      REDIS_URL: TEST_REDIS_URL,
      TESSERA_MASTER_KEY: TEST_MASTER_KEY,
      LOG_FORMAT: 'json',
      NODE_ENV: 'production',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d) => {
    out += d;
  });
  child.stderr!.on('data', (d) => {
    out += d;
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`did not start:\n${out}`)), 60_000);
      child.stdout!.on('data', () => {
        if (out.includes('Tessera listening')) {
          clearTimeout(timer);
          resolve();
        }
      });
      void exited.then((code) => {
        clearTimeout(timer);
        reject(new Error(`exited ${code}:\n${out}`));
      });
    });
    const base = `http://127.0.0.1:${port}`;
    expect(await (await fetch(`${base}/livez`)).json()).toMatchObject({ status: 'alive' });
    // Ready once its Redis connection is up (a loaded machine may take a moment).
    const ready = await eventually(
      () => fetch(`${base}/readyz`, { headers: { 'x-request-id': 'probe-0123456789' } }),
      (r) => r.status === 200,
      15_000,
    );
    expect(ready.status).toBe(200);
    expect(ready.headers.get('x-request-id')).toBe('probe-0123456789');
    expect(await ready.json()).toMatchObject({
      status: 'ready',
      checks: { database: { status: 'up', kind: 'postgres' }, migrations: { status: 'up' }, redis: { status: 'up' } },
    });
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toContain('tessera_http_requests_total{group="health",status="200"}');
    expect(metrics).toContain('tessera_db_pool_connections');
    expect(metrics).toContain('tessera_redis_up{connection="oidc"} 1');
    expect(metrics).toContain('process_cpu_seconds_total');
    // A request the app did not recognise still carries an id, and its log line names it.
    const unknown = await fetch(`${base}/nowhere`, { headers: { host: 'nobody.example' } });
    const reqId = unknown.headers.get('x-request-id')!;
    expect(reqId).toMatch(/^[0-9a-f-]{36}$/);
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    const lines = out
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l));
    expect(lines.find((l) => l.reqId === reqId)).toMatchObject({ msg: 'request', status: 404, path: '/nowhere' });
    expect(lines.find((l) => l.msg === 'shutdown complete')).toMatchObject({ clean: true });
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
  }
}, 120_000);
