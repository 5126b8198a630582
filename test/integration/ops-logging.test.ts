import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

/**
 * The process's log lines leave stdout in batches (src/ops/logging.ts): a batch goes out on its
 * own while the process runs, and whatever is still held is written when the process exits,
 * an uncaught exception included. Each case runs in a process of its own, as a server would.
 */

const dir = mkdtempSync(path.join(tmpdir(), 'tessera-logging-'));
const logging = path.resolve('src/ops/logging.ts');

const children = new Set<ReturnType<typeof spawn>>();

afterAll(() => {
  for (const child of children) child.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

interface Run {
  lines: Record<string, unknown>[];
  code: number | null;
}

/** Runs `body` (a module that has `log`) and collects its stdout lines; `until` ends it early with SIGKILL, as a crash outside Node would. */
function run(name: string, body: string, until?: (lines: Record<string, unknown>[]) => boolean): Promise<Run> {
  const file = path.join(dir, `${name}.ts`);
  writeFileSync(file, `import { createLogger } from ${JSON.stringify(logging)};\nconst log = createLogger({ level: 'info', format: 'json' });\n${body}\n`);
  const child = spawn(process.execPath, ['--import', 'tsx', file], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  child.once('exit', () => children.delete(child));
  let out = '';
  const lines = () =>
    out
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
    if (until?.(lines())) child.kill('SIGKILL');
  });
  return new Promise((resolve) => child.once('close', (code) => resolve({ lines: lines(), code })));
}

test('lines logged just before an uncaught exception are written as the process exits', async () => {
  const r = await run('crash', `for (let i = 0; i < 3; i++) log.info({ i }, 'before the crash');\nsetImmediate(() => { throw new Error('boom'); });`);
  expect(r.code).not.toBe(0);
  expect(r.lines.map((l) => [l.msg, l.i])).toEqual([
    ['before the crash', 0],
    ['before the crash', 1],
    ['before the crash', 2],
  ]);
});

test('a batch goes out while the process runs, without waiting for its exit', async () => {
  // Killed outright once the line is seen: had it waited for the exit, it would never be seen.
  const r = await run('running', `log.info('still running');\nsetTimeout(() => log.info('too late'), 20_000);`, (lines) =>
    lines.some((l) => l.msg === 'still running'),
  );
  expect(r.lines.map((l) => l.msg)).toEqual(['still running']);
}, 15_000);
