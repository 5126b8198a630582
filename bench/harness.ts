/**
 * What every scenario of `npm run bench` stands on: the settings, the two servers (Tessera on real
 * PostgreSQL and Redis, and the bare oidc-provider), and the measurement of one load with the
 * server's CPU time and database transactions per request.
 */
import { readFileSync, readdirSync, writeFileSync, mkdirSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { loadConfig } from '../src/config/load.js';
import type { Config } from '../src/config/schema.js';
import { localRequest } from '../test/support/rp.js';
import { freePort, runJson, runNode, startNode, startTs, type Child } from './processes.js';
import { medianFigure, SCENARIOS, type Figure, type LoadRequest, type LoadResult, type LoadSpec, type ScenarioName } from './report.js';

export interface Settings {
  /** --quick: smaller and shorter (QUICK), for checking the bench and back-to-back comparisons */
  quick: boolean;
  /** connections of the token, userinfo, introspection and discovery loads */
  connections: number;
  /** connections of the Management API loads */
  apiConnections: number;
  /** sign-ins in flight at once, and argon2 verifies for its ceiling */
  signinConcurrency: number;
  signinAccounts: number;
  duration: number;
  warmup: number;
  rounds: number;
  tenants: number;
  largeUsers: number;
  largeGrantsPerUser: number;
  scenarios: ScenarioName[];
}

/**
 * Command-line options of `npm run bench -- …`, each the same as its variable (the option wins):
 * `--only tokens,signin` (BENCH_ONLY), `--rounds 3` (BENCH_ROUNDS), `--quick` (BENCH_QUICK=1).
 */
export function argsToEnv(args: string[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (let i = 0; i < args.length; i++) {
    const [flag, inline] = args[i].split('=', 2);
    const value = () => {
      const v = inline ?? args[++i];
      if (v === undefined || v.startsWith('--')) throw new Error(`${flag} needs a value`);
      return v;
    };
    if (flag === '--only') env.BENCH_ONLY = env.BENCH_ONLY ? `${env.BENCH_ONLY},${value()}` : value();
    else if (flag === '--rounds') env.BENCH_ROUNDS = value();
    else if (flag === '--quick') env.BENCH_QUICK = '1';
    else throw new Error(`unknown option ${args[i]} (known: --only <scenario>[,<scenario>…], --rounds <n>, --quick)`);
  }
  return env;
}

/**
 * Quick mode (`--quick`): every scenario, smaller and shorter, to check that the bench works and to
 * compare a change back to back (about 4 minutes). Its figures are not the ones to quote.
 */
const QUICK: Partial<Record<keyof Settings, number>> = { duration: 4, warmup: 1, tenants: 100, largeUsers: 10_000 };

export function readSettings(env: NodeJS.ProcessEnv = process.env): Settings {
  const quick = env.BENCH_QUICK === '1' || env.BENCH_QUICK === 'true';
  const num = (name: string, fallback: number, key?: keyof Settings) => Number(env[name] ?? (quick && key && QUICK[key] !== undefined ? QUICK[key] : fallback));
  const only = env.BENCH_ONLY?.split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const unknown = only?.filter((s) => !(SCENARIOS as readonly string[]).includes(s)) ?? [];
  if (unknown.length) throw new Error(`BENCH_ONLY: unknown scenario ${unknown.join(', ')} (known: ${SCENARIOS.join(', ')})`);
  return {
    quick,
    connections: num('BENCH_CONNECTIONS', 20),
    apiConnections: num('BENCH_API_CONNECTIONS', 10),
    signinConcurrency: num('BENCH_SIGNIN_CONCURRENCY', 8),
    signinAccounts: num('BENCH_SIGNIN_ACCOUNTS', 40),
    duration: num('BENCH_DURATION', 8, 'duration'),
    warmup: num('BENCH_WARMUP', 2, 'warmup'),
    rounds: Math.max(1, num('BENCH_ROUNDS', 1)),
    tenants: num('BENCH_TENANTS', 1000, 'tenants'),
    largeUsers: num('BENCH_LARGE_USERS', 100_000, 'largeUsers'),
    largeGrantsPerUser: num('BENCH_LARGE_GRANTS_PER_USER', 10),
    scenarios: SCENARIOS.filter((s) => !only || only.includes(s)),
  };
}

export const DATABASE_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/tessera_bench';
export const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
export const FORM = 'application/x-www-form-urlencoded';
export const basic = (id: string, pw: string) => `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(pw)}`).toString('base64')}`;
export const secret = () => randomBytes(18).toString('base64url');

export function log(line: string): void {
  process.stdout.write(`bench: ${line}\n`);
}

export async function freshDatabase(url: string): Promise<void> {
  const admin = new URL(url);
  const name = admin.pathname.slice(1);
  admin.pathname = '/postgres';
  const client = new pg.Client({ connectionString: admin.toString() });
  await client.connect();
  try {
    await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    await client.query(`CREATE DATABASE "${name}"`);
  } finally {
    await client.end();
  }
}

/** Runs SQL against the benchmark database (seeding, counters). */
export async function withDatabase<T>(run: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: DATABASE_URL });
  await client.connect();
  try {
    return await run(client);
  } finally {
    await client.end();
  }
}

/**
 * Transactions committed in the benchmark database so far. Tessera's lone queries each commit
 * one, so the difference over a run, divided by its requests, is its queries per request.
 * Backends flush these counters about once a second, hence the pause before reading.
 */
export async function dbTransactions(): Promise<number> {
  await new Promise((r) => setTimeout(r, 1500));
  const name = new URL(DATABASE_URL).pathname.slice(1);
  return withDatabase(async (c) =>
    Number((await c.query('SELECT xact_commit + xact_rollback AS n FROM pg_stat_database WHERE datname = $1', [name])).rows[0].n),
  );
}

/** /proc counts CPU time in clock ticks of USER_HZ, which Linux fixes at 100 for user space. */
const CLOCK_TICKS = 100;

/**
 * A process's /proc/PID/stat: its command name and the fields after it (the name is in
 * parentheses and may hold spaces, so the fields are counted from its end). Throws off Linux or
 * when the process has ended.
 */
function procStat(pid: number | string): { command: string; fields: string[] } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const end = stat.lastIndexOf(') ');
  return { command: stat.slice(stat.indexOf('(') + 1, end), fields: stat.slice(end + 2).split(' ') };
}

/** The sum of /proc clock-tick fields, in ms. */
function ticksMs(fields: string[], indexes: number[]): number {
  return (indexes.reduce((sum, i) => sum + Number(fields[i]), 0) / CLOCK_TICKS) * 1000;
}

/** utime and stime in the fields procStat returns; then cutime and cstime, the children it has reaped. */
const OWN_CPU = [11, 12];
const OWN_AND_REAPED_CPU = [11, 12, 13, 14];

/**
 * CPU time a process has used so far (user + system, ms), from /proc: per request, it tells a
 * server that computes from one that waits (on PostgreSQL, Redis, or a busy machine's scheduler).
 */
export function cpuMs(pid: number): number | undefined {
  try {
    return ticksMs(procStat(pid).fields, OWN_CPU);
  } catch {
    return undefined; // not Linux
  }
}

/**
 * CPU time (ms) used so far by every process of a server on this machine (`postgres`,
 * `redis-server`), from /proc: the servers share the cores with Tessera in the bench, so their
 * work per request is part of what a request costs. A PostgreSQL backend that ended (a pool's idle
 * connection closed) leaves its time in its parent's children's counters, which are counted too,
 * so the sum never goes back. Undefined off Linux or when the server runs elsewhere. On a machine
 * where other databases of the same server are busy, their work counts too.
 */
export function serverCpuMs(command: 'postgres' | 'redis-server'): number | undefined {
  let entries: string[];
  try {
    entries = readdirSync('/proc').filter((e) => /^\d+$/.test(e));
  } catch {
    return undefined;
  }
  let total: number | undefined;
  for (const pid of entries) {
    try {
      const stat = procStat(pid);
      if (stat.command === command) total = (total ?? 0) + ticksMs(stat.fields, OWN_AND_REAPED_CPU);
    } catch {
      // the process ended while we looked
    }
  }
  return total;
}

export const postgresCpuMs = () => serverCpuMs('postgres');

/** The difference of two CPU readings per request, when both were read. */
export function perRequest(before: number | undefined, after: number | undefined, requests: number): number | undefined {
  return before !== undefined && after !== undefined ? (after - before) / requests : undefined;
}

/** A process's resident memory (KiB), from /proc. */
export function rssKiB(pid: number): number | undefined {
  try {
    const line = readFileSync(`/proc/${pid}/status`, 'utf8')
      .split('\n')
      .find((l) => l.startsWith('VmRSS:'));
    return line ? Number(line.split(/\s+/)[1]) : undefined;
  } catch {
    return undefined;
  }
}

export async function runLoad(spec: LoadSpec): Promise<LoadResult> {
  return runJson<LoadResult>('bench/load.ts', spec, (spec.warmup + spec.duration + 60) * 1000);
}

/** A server under measurement: its process (for CPU time) and whether its queries are counted. */
export interface Target {
  pid: number;
  countQueries: boolean;
}

/** One load against one server, with the server's CPU time and (Tessera) transactions per request. */
export async function measureLoad(target: Target, spec: LoadSpec): Promise<Figure> {
  const before = target.countQueries ? await dbTransactions() : 0;
  const cpuBefore = cpuMs(target.pid);
  const pgBefore = target.countQueries ? postgresCpuMs() : undefined;
  const result = await runLoad(spec);
  const cpuAfter = cpuMs(target.pid);
  const pgAfter = target.countQueries ? postgresCpuMs() : undefined;
  const served = Math.max(1, result.total + result.warmupTotal);
  const cpu = perRequest(cpuBefore, cpuAfter, served);
  const dbCpu = perRequest(pgBefore, pgAfter, served);
  // Our own counting connection commits once per reading: not Tessera's.
  const db = target.countQueries ? ((await dbTransactions()) - before - 1) / served : undefined;
  return {
    value: result.rps,
    unit: 'req/s',
    p50: result.p50,
    p99: result.p99,
    non2xx: result.non2xx,
    errors: result.errors,
    ...(cpu !== undefined ? { cpuMsPerRequest: cpu } : {}),
    ...(dbCpu !== undefined ? { dbCpuMsPerRequest: dbCpu } : {}),
    ...(db !== undefined ? { dbPerRequest: db } : {}),
  };
}

/**
 * Loads measured side by side, BENCH_ROUNDS times: back to back so they meet the same background
 * load as closely as possible, the order reversed every other round so drift favours none. Each
 * figure is the median over the rounds.
 */
export async function measureSideBySide(label: string, settings: Settings, loads: { name: string; target: Target; spec: LoadSpec }[]): Promise<Figure[]> {
  const rounds: Figure[][] = loads.map(() => []);
  for (let round = 0; round < settings.rounds; round++) {
    const order = loads.map((_, i) => i);
    if (round % 2) order.reverse();
    for (const i of order) {
      log(
        `${label}: ${loads[i].name}${settings.rounds > 1 ? ` (round ${round + 1}/${settings.rounds})` : ''}, ${loads[i].spec.connections} connections, ${loads[i].spec.warmup} s warm-up + ${loads[i].spec.duration} s`,
      );
      rounds[i].push(await measureLoad(loads[i].target, loads[i].spec));
    }
  }
  return rounds.map(medianFigure);
}

/**
 * Each load once, unmeasured, before any is measured. A freshly started server compiles its code
 * paths, grows its heap and fills its caches under its first load; without this, the first load
 * measured (client_credentials with the audience, GET one user) paid for that alone: 0.61–0.84 ms
 * of CPU per token in a first load against 0.38 in later rounds. (The first pair of the 10:27 run
 * of Dec 2 still cost more, 0.52 ms: not all of it is warm-up.)
 */
export async function warmUp(label: string, settings: Settings, loads: { name: string; spec: LoadSpec }[]): Promise<void> {
  const seconds = Math.max(2, settings.warmup);
  for (const load of loads) {
    log(`${label}: warming up ${load.name}, ${seconds} s unmeasured`);
    const result = await runLoad({ ...load.spec, warmup: 0, duration: seconds });
    if (result.non2xx || result.errors)
      throw new Error(`${label}: ${load.name}: ${result.non2xx} non-2xx answers and ${result.errors} errors while warming up`);
  }
}

export function loadSpec(settings: Settings, request: LoadRequest & { requests?: LoadRequest[] }, connections = settings.connections): LoadSpec {
  return { ...request, connections, duration: settings.duration, warmup: settings.warmup };
}

/** An HTTP call to a server on 127.0.0.1, whatever host the URL names (the instance); JSON in and out. */
export async function call(
  url: string | URL,
  init: { method?: string; headers?: Record<string, string>; body?: string; json?: unknown } = {},
): Promise<{ status: number; body: any; text: string }> {
  const headers = { ...init.headers };
  let body = init.body;
  if (init.json !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(init.json);
  }
  const res = await localRequest(new URL(url), { method: init.method ?? (body === undefined ? 'GET' : 'POST'), headers, body });
  let parsed: unknown;
  try {
    parsed = JSON.parse(res.body);
  } catch {
    parsed = undefined;
  }
  return { status: res.status, body: parsed, text: res.body };
}

/** The URL of a path on an instance: its host (the instance's domain) and Tessera's port. */
export const instanceUrl = (tessera: { port: number }, host: string, path: string) => `http://${host}:${tessera.port}${path}`;

/** A request to load Tessera with: to 127.0.0.1, with the instance's Host header. */
export function instanceRequest(tessera: { port: number }, host: string, path: string, init: Omit<LoadRequest, 'url'> = {}): LoadRequest {
  return { ...init, url: `http://127.0.0.1:${tessera.port}${path}`, headers: { host: `${host}:${tessera.port}`, ...init.headers } };
}

// ---- The servers ----

export interface Bare {
  pid: number;
  issuer: string;
  accessToken: string;
  client: [string, string];
}

export async function startBare(): Promise<Bare> {
  const port = await freePort();
  const bare = startTs('bench/bare-provider.ts', [String(port)], { NODE_ENV: 'production' });
  const ready = JSON.parse(await bare.waitFor(/"ready":true/, 60_000)) as { issuer: string; accessToken: string };
  // One static client does everything, as a bare deployment would.
  return { pid: bare.child.pid!, issuer: ready.issuer, accessToken: ready.accessToken, client: ['bench', 'bench-secret-bench-secret-bench-secret'] };
}

export interface Tessera {
  pid: number;
  port: number;
  child: Child;
  config: Config;
  systemKey: string;
  /** the environment Tessera runs with, for `tessera apply` */
  env: Record<string, string>;
  /** `tessera apply` of a spec (an object, written as JSON, which is YAML) with these extra variables */
  apply(name: string, spec: unknown, env?: Record<string, string>): Promise<string>;
  /** provider builds Tessera has logged so far, with their durations (ms) */
  builds: number[];
}

/**
 * Where startTessera compiles Tessera to: the production build (`scripts/build.mjs`, as
 * `npm run build` makes it), run by plain Node as the Dockerfile runs it, not through tsx (whose
 * per-function naming helpers and loader are no part of what production runs).
 */
const BUILD = 'bench/results/dist';

/**
 * Tessera's compiled build (`node dist/src/main.js`, as the Dockerfile runs it, NODE_ENV=production),
 * on real PostgreSQL and Redis, with a System API key and debug logs (for the provider builds).
 * BENCH_PROFILE=1 adds a V8 CPU profile, written when it exits (open it in Chrome DevTools).
 */
export async function startTessera(): Promise<Tessera> {
  const port = await freePort();
  mkdirSync('bench/results', { recursive: true });
  await runNode('scripts/build.mjs', [BUILD], {});
  const systemKey = secret();
  const configFile = 'bench/results/tessera.yaml';
  writeFileSync(configFile, `${JSON.stringify({ systemApiKeys: [{ id: 'bench', key: systemKey }] })}\n`);
  const env = {
    DATABASE_URL,
    REDIS_URL,
    PORT: String(port),
    HOST: '127.0.0.1',
    TESSERA_CONFIG: configFile,
    TESSERA_MASTER_KEY: randomBytes(32).toString('base64'),
    TESSERA_ADMIN_PASSWORD: `Admin-${secret()}-9a!`,
    LOG_LEVEL: 'debug',
    NODE_ENV: 'production',
  };
  const profile = process.env.BENCH_PROFILE ? ['--cpu-prof', '--cpu-prof-dir=bench/results/profile'] : [];
  const child = startNode(`${BUILD}/src/main.js`, [], env, profile);
  const builds: number[] = [];
  child.onLine((line) => {
    if (!line.includes('oidc provider built')) return;
    try {
      builds.push(Number((JSON.parse(line) as { ms?: number }).ms ?? NaN));
    } catch {
      builds.push(NaN);
    }
  });
  await child.waitFor(/Tessera listening/, 120_000);
  return {
    pid: child.child.pid!,
    port,
    child,
    config: loadConfig(env),
    systemKey,
    env,
    builds,
    async apply(name, spec, extra = {}) {
      const file = `bench/results/${name}.json`;
      writeFileSync(file, JSON.stringify(spec));
      return runNode(`${BUILD}/src/cli/main.js`, ['apply', file], { ...env, LOG_LEVEL: 'warn', ...extra }, 30 * 60_000);
    },
  };
}

export interface Discovery {
  issuer: string;
  token_endpoint: string;
  userinfo_endpoint: string;
  introspection_endpoint: string;
  authorization_endpoint: string;
}

export async function discovery(issuer: string): Promise<Discovery> {
  const res = await call(`${issuer}/.well-known/openid-configuration`);
  if (res.status !== 200) throw new Error(`discovery at ${issuer}: ${res.status} ${res.text}`);
  return res.body as Discovery;
}

/** Runs async work over items, `limit` at a time; results in order. */
export async function inBatches<T, R>(items: T[], limit: number, work: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await work(items[i], i);
      }
    }),
  );
  return out;
}
