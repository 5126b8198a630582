/**
 * Child processes of the benchmark: every server and load generator is its own process on this
 * same Node (bench code through tsx, Tessera as its compiled build), and every one still alive is
 * killed when the run ends, however it ends.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';

const children = new Set<ChildProcess>();

export interface Child {
  child: ChildProcess;
  /** the last 64 KiB of stdout and stderr, for error messages */
  output(): string;
  /** resolves with the first stdout line matching, rejects if the process exits first or time runs out */
  waitFor(match: RegExp, timeoutMs: number): Promise<string>;
  /** calls back with every later stdout line; returns the unsubscribe */
  onLine(listener: (line: string) => void): () => void;
  stop(): Promise<void>;
}

/** Runs a TypeScript file with this Node and tsx, in its own process. */
export function startTs(file: string, args: string[], env: Record<string, string>, nodeArgs: string[] = []): Child {
  return startNode(file, args, env, [...nodeArgs, '--import', 'tsx']);
}

/** Runs a JavaScript file with this Node, in its own process. */
export function startNode(file: string, args: string[], env: Record<string, string>, nodeArgs: string[] = []): Child {
  const child = spawn(process.execPath, [...nodeArgs, file, ...args], {
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  child.once('exit', () => children.delete(child));
  let out = '';
  const keep = (d: Buffer) => {
    out = (out + d.toString()).slice(-65536);
  };
  // Always drained: a full pipe would block the server mid-benchmark.
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);

  const waitFor = (match: RegExp, timeoutMs: number) =>
    new Promise<string>((resolve, reject) => {
      let pending = '';
      const onData = (d: Buffer) => {
        pending += d.toString();
        const lines = pending.split('\n');
        pending = lines.pop() ?? '';
        const hit = lines.find((l) => match.test(l));
        if (hit !== undefined) {
          cleanup();
          resolve(hit);
        }
      };
      const onExit = (code: number | null) => {
        cleanup();
        reject(new Error(`${file} exited (${code}) before ${match}:\n${out}`));
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`${file}: no ${match} within ${timeoutMs} ms:\n${out}`));
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        child.stdout!.off('data', onData);
        child.off('exit', onExit);
      };
      child.stdout!.on('data', onData);
      child.once('exit', onExit);
    });

  const onLine = (listener: (line: string) => void) => {
    let pending = '';
    const onData = (d: Buffer) => {
      pending += d.toString();
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      lines.forEach(listener);
    };
    child.stdout!.on('data', onData);
    return () => {
      child.stdout!.off('data', onData);
    };
  };

  return { child, output: () => out, waitFor, onLine, stop: () => stopChild(child) };
}

/** Runs a TypeScript file to completion; its stdout, or an error with its output. */
export function runTs(file: string, args: string[], env: Record<string, string>, timeoutMs = 120_000): Promise<string> {
  return runToEnd(startTs(file, args, env), `${file} ${args.join(' ')}`, timeoutMs);
}

/** Runs a JavaScript file to completion; its stdout, or an error with its output. */
export function runNode(file: string, args: string[], env: Record<string, string>, timeoutMs = 120_000): Promise<string> {
  return runToEnd(startNode(file, args, env), `${file} ${args.join(' ')}`, timeoutMs);
}

async function runToEnd(c: Child, what: string, timeoutMs: number): Promise<string> {
  let stdout = '';
  c.child.stdout!.on('data', (d: Buffer) => {
    stdout += d.toString();
  });
  const timer = setTimeout(() => void c.stop(), timeoutMs);
  const code = await new Promise<number | null>((resolve) => c.child.once('close', resolve));
  clearTimeout(timer);
  if (code !== 0) throw new Error(`${what} exited with ${code}:\n${c.output()}`);
  return stdout;
}

/**
 * Runs a bench process that takes one JSON input and answers one JSON line. The input goes
 * through a file (a round-robin over 1,000 instances is larger than an argument may be).
 */
export async function runJson<T>(file: string, input: unknown, timeoutMs: number): Promise<T> {
  mkdirSync('bench/results/inputs', { recursive: true });
  const path = `bench/results/inputs/${randomBytes(6).toString('hex')}.json`;
  writeFileSync(path, JSON.stringify(input));
  const out = await runTs(file, [path], {}, timeoutMs);
  return JSON.parse(out.trim().split('\n').pop()!) as T;
}

/** In a process run by runJson: its input. */
export function readInput<T>(): T {
  return JSON.parse(readFileSync(process.argv[2], 'utf8')) as T;
}

function stopChild(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    // Still there after 5 s (a keep-alive connection, a stuck shutdown): SIGKILL.
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

export async function stopAll(): Promise<void> {
  await Promise.all([...children].map(stopChild));
}

/** Ctrl-C or a crash of the runner must not leave servers behind. */
export function stopAllOnExit(): void {
  const bail = (signal: string) => {
    void stopAll().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  };
  process.once('SIGINT', () => bail('SIGINT'));
  process.once('SIGTERM', () => bail('SIGTERM'));
  process.once('exit', () => {
    for (const c of children) c.kill('SIGKILL');
  });
}

export { freePort } from '../test/support/process.js';
