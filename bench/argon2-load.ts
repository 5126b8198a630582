/**
 * The ceiling of a full sign-in: argon2id verifies per second, at Tessera's own hashing parameters
 * and the sign-in load's concurrency, in a process of its own (argon2 runs on libuv's thread pool,
 * as it does in Tessera). Input: one JSON file (runJson) (Argon2Spec). Output: one JSON line (Argon2Result).
 */
import argon2 from 'argon2';
import { median, percentile } from './report.js';
import { readInput } from './processes.js';

export interface Argon2Spec {
  params: { memoryCost: number; timeCost: number; parallelism: number };
  concurrency: number;
  duration: number;
  warmup: number;
}
export interface Argon2Result {
  rate: number;
  completed: number;
  p50: number;
  p99: number;
  /** this process's CPU time per verify during the measured run (user + system: libuv's threads included) */
  cpuMsPerVerify: number;
}

const spec = readInput<Argon2Spec>();
const password = 'Bench-correct-horse-9a!';
const hash = await argon2.hash(password, { type: argon2.argon2id, ...spec.params });

async function run(seconds: number): Promise<{ times: number[]; verified: number }> {
  const deadline = performance.now() + seconds * 1000;
  const times: number[] = [];
  let verified = 0;
  await Promise.all(
    Array.from({ length: spec.concurrency }, async () => {
      while (performance.now() < deadline) {
        const t0 = performance.now();
        if (!(await argon2.verify(hash, password))) throw new Error('argon2 verify failed');
        verified++;
        if (performance.now() <= deadline) times.push(performance.now() - t0);
      }
    }),
  );
  return { times, verified };
}

if (spec.warmup > 0) await run(spec.warmup);
const cpuBefore = process.cpuUsage();
const { times, verified } = await run(spec.duration);
const cpu = process.cpuUsage(cpuBefore);
const out: Argon2Result = {
  rate: times.length / spec.duration,
  completed: times.length,
  p50: median(times),
  p99: percentile(times, 99),
  cpuMsPerVerify: (cpu.user + cpu.system) / 1000 / Math.max(1, verified),
};
process.stdout.write(`${JSON.stringify(out)}\n`);
