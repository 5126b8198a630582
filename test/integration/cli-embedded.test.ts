import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { jest } from '@jest/globals';
import { freePort, startTessera, type Started } from '../support/process.js';

/**
 * The embedded database admits one process at a time. `tessera apply` beside a running embedded
 * server used to report success while its changes were lost (and a later apply then failed on a
 * conflict). Now the CLI refuses while the server holds the data directory, and works once the
 * server stopped. A real server process, on a data directory of its own.
 */
jest.setTimeout(300_000);

const dataDir = mkdtempSync(path.join(tmpdir(), 'tessera-cli-embedded-'));
const specFile = path.join(dataDir, '..', `${path.basename(dataDir)}.yaml`);
let server: Started | undefined;
afterAll(async () => {
  await server?.stop();
  rmSync(dataDir, { recursive: true, force: true });
  rmSync(specFile, { force: true });
});

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}
function tessera(args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['bin/tessera.mjs', ...args],
      { env: { PATH: process.env.PATH ?? '', TESSERA_DATA_DIR: dataDir, LOG_LEVEL: 'warn' } },
      (err, stdout, stderr) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }),
    );
  });
}

const inUse = /data directory .* is in use by another Tessera process/;

test('apply, its dry run and export refuse while the embedded server runs; after it stops, apply works and its change outlives the next run', async () => {
  writeFileSync(specFile, 'instances:\n  - name: Tessera\n    domains: [localhost, 127.0.0.1]\n    orgs:\n      - name: Lockstep\n');
  const port = String(await freePort());
  server = await startTessera({ PORT: port, TESSERA_DATA_DIR: dataDir }, 180_000);

  for (const args of [['apply', specFile, '--dry-run'], ['apply', specFile], ['export']]) {
    const run = await tessera(args);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(inUse);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stdout).not.toMatch(/Lockstep/);
  }
  // The server is unharmed and still serves.
  expect((await fetch(`http://127.0.0.1:${port}/livez`)).status).toBe(200);
  await server.stop();
  server = undefined;

  const applied = await tessera(['apply', specFile]);
  expect(applied).toMatchObject({ code: 0 });
  expect(applied.stdout).toMatch(/\+ org Lockstep/);
  expect((await tessera(['apply', specFile])).stdout).toMatch(/no changes/);

  // Started again, the server has the org the CLI made, and the CLI is refused again.
  server = await startTessera({ PORT: port, TESSERA_DATA_DIR: dataDir }, 180_000);
  expect((await tessera(['apply', specFile, '--dry-run'])).stderr).toMatch(inUse);
  await server.stop();
  server = undefined;
  const exported = await tessera(['export']);
  expect(exported.code).toBe(0);
  expect(exported.stdout).toMatch(/name: Lockstep/);
});

test('a server killed outright leaves the directory to the next start, which waits out its lock', async () => {
  const port = String(await freePort());
  // One process (no tsx launcher in front), so SIGKILL ends the server itself, as a crash would.
  const killed = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    env: { PATH: process.env.PATH ?? '', PORT: port, TESSERA_DATA_DIR: dataDir },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise<void>((resolve, reject) => {
    let out = '';
    killed.stdout!.on('data', (d) => {
      out += d;
      if (out.includes('Tessera listening')) resolve();
    });
    killed.once('exit', (code) => reject(new Error(`exited with ${code}: ${out}`)));
  });
  const exited = new Promise((resolve) => killed.once('exit', resolve));
  killed.kill('SIGKILL');
  await exited;
  server = await startTessera({ PORT: port, TESSERA_DATA_DIR: dataDir }, 180_000);
  expect((await fetch(`http://127.0.0.1:${port}/livez`)).status).toBe(200);
  await server.stop();
  server = undefined;
  expect((await tessera(['apply', specFile])).stdout).toMatch(/no changes/);
});
