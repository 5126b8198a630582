import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import http from 'node:http';
import path from 'node:path';

// Children run on the Node pinned in devDependencies, whatever launched the test runner.
const PATH = `${path.resolve('node_modules/.bin')}:${process.env.PATH ?? ''}`;

/** A free TCP port on loopback, for child processes that must be told their port. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

export interface Started {
  child: ChildProcess;
  output: () => string;
  stop: () => Promise<void>;
}

/** Starts `tsx src/main.ts` with the given environment and waits until it listens. */
export async function startTessera(env: Record<string, string>, timeoutMs = 60_000): Promise<Started> {
  const child = spawn('node_modules/.bin/tsx', ['src/main.ts'], {
    env: { PATH, HOME: process.env.HOME ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d) => {
    out += d;
  });
  child.stderr!.on('data', (d) => {
    out += d;
  });
  const stop = () =>
    new Promise<void>((resolve) => {
      if (child.exitCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      // Not left running after the test: tsx passes SIGTERM on to the server it started.
      child.kill('SIGTERM');
      reject(new Error(`Tessera did not start:\n${out}`));
    }, timeoutMs);
    const check = () => {
      if (out.includes('Tessera listening')) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout!.on('data', check);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`Tessera exited with ${code}:\n${out}`));
    });
  });
  return { child, output: () => out, stop };
}

/** Runs a command to completion and returns its exit code and output. */
export async function run(cmd: string, args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  const child = spawn(cmd, args, { env: { PATH, HOME: process.env.HOME ?? '', ...env } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => {
    stdout += d;
  });
  child.stderr.on('data', (d) => {
    stderr += d;
  });
  const code = await new Promise<number>((resolve) => child.on('close', (c) => resolve(c ?? -1)));
  return { code, stdout, stderr };
}

/** GET with an explicit Host header (fetch does not allow setting it). */
export function getWithHost(port: number, path: string, host: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path, headers: { host } }, (res) => {
        let body = '';
        res.on('data', (d) => {
          body += d;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      })
      .on('error', reject);
  });
}
