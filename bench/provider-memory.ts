/**
 * Memory per cached provider and the time to build one, measured inside a process of its own
 * that builds the providers of many instances the way Tessera does (src/oidc/pool.ts), with the
 * heap collected before and after: resident memory of the server moves with the garbage collector
 * by more than a provider weighs. Input: one JSON file (runJson) (ProviderMemorySpec). Output:
 * one JSON line (ProviderMemoryResult).
 */
import v8 from 'node:v8';
import vm from 'node:vm';
import { loadConfig } from '../src/config/load.js';
import { ProviderPool } from '../src/oidc/pool.js';
import { createRuntime } from '../src/runtime/index.js';
import { readInput } from './processes.js';
import { median, percentile } from './report.js';

export interface ProviderMemorySpec {
  /** Tessera's environment (database, master key, Redis) */
  env: Record<string, string>;
  instances: { id: string; origin: string }[];
}
export interface ProviderMemoryResult {
  providers: number;
  /** heap and off-heap memory (KiB) held per provider, after garbage collection */
  kibPerProvider: number;
  buildMsMedian: number;
  buildMsP99: number;
}

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;
const held = () => {
  gc();
  gc();
  const m = process.memoryUsage();
  return m.heapUsed + m.external;
};

const spec = readInput<ProviderMemorySpec>();
const config = loadConfig({ ...spec.env, LOG_LEVEL: 'warn' });
const rt = await createRuntime({ ...config, oidc: { ...config.oidc, providerCacheSize: spec.instances.length + 1 } }, { migrate: false });
const pool = new ProviderPool(
  { knex: rt.db.knex, box: rt.deps.box, hasher: rt.deps.hasher, config: rt.config, log: rt.log, redisConnections: rt.redis },
  rt.deps.changes,
);
// One provider first, so what every provider shares (modules, the database pool) is not counted.
await pool.get(spec.instances[0].id, spec.instances[0].origin);
const before = held();
const times: number[] = [];
for (const inst of spec.instances.slice(1)) {
  const t0 = performance.now();
  await pool.get(inst.id, inst.origin);
  times.push(performance.now() - t0);
}
const after = held();
const n = spec.instances.length - 1;
const result: ProviderMemoryResult = {
  providers: pool.size,
  kibPerProvider: (after - before) / 1024 / n,
  buildMsMedian: median(times),
  buildMsP99: percentile(times, 99),
};
process.stdout.write(`${JSON.stringify(result)}\n`);
await pool.close();
await rt.close();
process.exit(0);
