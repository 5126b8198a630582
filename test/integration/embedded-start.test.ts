import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort, getWithHost, run, startTessera } from '../support/process.js';

// `npm install && npm start` with no environment: embedded PostgreSQL under the data dir.
describe('the embedded default', () => {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'tessera-embedded-'));
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  test('starts, migrates, serves on PGlite, and keeps its data across a restart', async () => {
    const port = await freePort();
    const env = { PORT: String(port), TESSERA_DATA_DIR: dataDir, LOG_LEVEL: 'info' };

    const first = await startTessera(env);
    try {
      const res = await fetch(`http://127.0.0.1:${port}/healthz`);
      expect(res.status).toBe(200);
      // /healthz is /readyz: every dependency and its state.
      expect(await res.json()).toMatchObject({
        status: 'ready',
        checks: { database: { status: 'up', kind: 'embedded' }, migrations: { status: 'up' }, redis: { status: 'not_configured' } },
      });
      // The first start says where the console is and the login name the login page accepts.
      expect(first.output()).toMatch(new RegExp(`Console: +http://localhost:${port}/ui/console\\n`));
      expect(first.output()).toMatch(/Sign in as: admin@tessera\.localhost\n/);
      expect(first.output()).toMatch(/Password: +\S{20,}/);
      const door = await getWithHost(port, '/', 'localhost');
      expect(door.status).toBe(200);
      expect(door.body).toContain('href="/ui/console"');
      expect(first.output()).not.toMatch(/Unsupported runtime/);
    } finally {
      await first.stop();
    }

    const second = await startTessera(env);
    try {
      const res = await fetch(`http://127.0.0.1:${port}/healthz`);
      expect(await res.json()).toMatchObject({ status: 'ready', checks: { database: { kind: 'embedded' } } });
      // The first instance is still there, so it is not created (nor its password printed) again.
      expect(second.output()).not.toMatch(/first instance created|Sign in as/);
      const unknown = await getWithHost(port, '/.well-known/openid-configuration', 'nobody.example');
      expect(unknown.status).toBe(404);
      expect(JSON.parse(unknown.body).detail).toContain('nobody.example');
    } finally {
      await second.stop();
    }
  }, 120_000);

  test('a bad configuration value stops the process with one line naming the key', async () => {
    const { code, stderr } = await run('node_modules/.bin/tsx', ['src/main.ts'], { PORT: '99999', TESSERA_DATA_DIR: dataDir });
    expect(code).toBe(1);
    expect(stderr.trim().split('\n')).toHaveLength(1);
    expect(stderr).toMatch(/^config error: server\.port \(PORT\): .*65535/);
  }, 60_000);
});
