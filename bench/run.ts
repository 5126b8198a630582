/**
 * `npm run bench`: Tessera beside a bare oidc-provider, in the same run on the same machine.
 *
 * 1. a fresh database (dropped and created), then each server as its own process: the bare
 *    provider (bench/bare-provider.ts) and Tessera (`src/main.ts`) on real PostgreSQL and Redis;
 * 2. Tessera seeded with `tessera apply bench/bench.yaml`, and a user access token got through
 *    the code flow, walking the login pages like a browser (test/support/rp.ts);
 * 3. for each endpoint, the load generator (bench/load.ts, its own process) against each server
 *    in turn, with the same connections, warm-up and duration;
 * 4. a markdown table, and bench/results/latest.json with the machine it ran on.
 *
 * Settings (environment): BENCH_CONNECTIONS (20), BENCH_DURATION (10 s), BENCH_WARMUP (2 s),
 * BENCH_ROUNDS (1; with more, each figure is the median over the rounds),
 * BENCH_DATABASE_URL (postgres://postgres@127.0.0.1:5432/tessera_bench), BENCH_REDIS_URL,
 * BENCH_PROFILE=1 (a CPU profile of Tessera into bench/results/profile/),
 * BENCH_ONLY (comma-separated endpoints, e.g. `userinfo`, to measure only those).
 * All traffic goes to 127.0.0.1.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { discover, login } from '../test/support/rp.js';
import { freePort, runTs, startTs, stopAll, stopAllOnExit } from './processes.js';
import {
  describeMachine, machineLine, markdownTable, medianOfRounds, SCENARIOS, sharedMachineNote, targetLines,
  type LoadResult, type LoadSpec, type Measurement, type Scenario, type Server,
} from './report.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
process.chdir(root);

const settings = {
  connections: Number(process.env.BENCH_CONNECTIONS ?? 20),
  duration: Number(process.env.BENCH_DURATION ?? 10),
  warmup: Number(process.env.BENCH_WARMUP ?? 2),
  rounds: Math.max(1, Number(process.env.BENCH_ROUNDS ?? 1)),
  scenarios: SCENARIOS.filter((s) => !process.env.BENCH_ONLY || process.env.BENCH_ONLY.split(',').includes(s)),
};
const DATABASE_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/tessera_bench';
const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';

const secret = () => randomBytes(18).toString('base64url');
const secrets = {
  BENCH_USER_PASSWORD: `Bench-${secret()}-9a!`,
  BENCH_MACHINE_SECRET: secret(),
  BENCH_WEB_SECRET: secret(),
  BENCH_API_SECRET: secret(),
};
const basic = (id: string, pw: string) => `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(pw)}`).toString('base64')}`;
const FORM = 'application/x-www-form-urlencoded';

/** The three requests measured, for one server. */
type Requests = Record<Scenario, Omit<LoadSpec, 'connections' | 'duration' | 'warmup'>>;
interface Running { requests: Requests; pid: number }

interface Discovery { token_endpoint: string; userinfo_endpoint: string; introspection_endpoint: string }

async function discovery(issuer: string): Promise<Discovery> {
  const res = await fetch(`${issuer}/.well-known/openid-configuration`);
  if (!res.ok) throw new Error(`discovery at ${issuer}: ${res.status} ${await res.text()}`);
  return res.json() as Promise<Discovery>;
}

function requests(d: Discovery, accessToken: string, machine: [string, string], introspector: [string, string]): Requests {
  return {
    client_credentials: {
      url: d.token_endpoint, method: 'POST', body: 'grant_type=client_credentials',
      headers: { 'content-type': FORM, authorization: basic(...machine) },
    },
    userinfo: { url: d.userinfo_endpoint, method: 'GET', headers: { authorization: `Bearer ${accessToken}` } },
    introspection: {
      url: d.introspection_endpoint, method: 'POST', body: new URLSearchParams({ token: accessToken }).toString(),
      headers: { 'content-type': FORM, authorization: basic(...introspector) },
    },
  };
}

/** One request of each kind, before the load and after it: figures for error responses would mean nothing. */
async function checkOnce(server: Server, reqs: Requests): Promise<void> {
  for (const scenario of SCENARIOS) {
    const r = reqs[scenario];
    const res = await fetch(r.url, { method: r.method, headers: r.headers, body: r.body });
    const body = await res.json().catch(() => ({})) as Record<string, unknown>;
    // Tessera's userinfo must carry the roles claim: figures for a response without it would flatter us.
    const roles = server === 'bare' || Boolean(body['urn:zitadel:iam:org:project:roles']);
    const ok = res.status === 200 && (scenario === 'client_credentials' ? Boolean(body.access_token)
      : scenario === 'userinfo' ? Boolean(body.sub) && roles : body.active === true);
    if (!ok) throw new Error(`${server} ${scenario}: ${res.status} ${JSON.stringify(body)}`);
  }
}

async function freshDatabase(url: string): Promise<void> {
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

async function startBare(): Promise<Running> {
  const port = await freePort();
  const bare = startTs('bench/bare-provider.ts', [String(port)], { NODE_ENV: 'production' });
  const ready = JSON.parse(await bare.waitFor(/"ready":true/, 60_000)) as { issuer: string; accessToken: string };
  const d = await discovery(ready.issuer);
  // One static client does everything, as a bare deployment would.
  const client: [string, string] = ['bench', 'bench-secret-bench-secret-bench-secret'];
  return { requests: requests(d, ready.accessToken, client, client), pid: bare.child.pid! };
}

async function startTessera(): Promise<Running> {
  const port = await freePort();
  const env = {
    DATABASE_URL, REDIS_URL, PORT: String(port), HOST: '127.0.0.1',
    TESSERA_MASTER_KEY: randomBytes(32).toString('base64'),
    TESSERA_ADMIN_PASSWORD: `Admin-${secret()}-9a!`,
    LOG_LEVEL: 'info',
    NODE_ENV: 'production', // as the Dockerfile runs it
  };
  // BENCH_PROFILE=1: a V8 CPU profile of Tessera, written when it exits (open it in Chrome DevTools).
  const profile = process.env.BENCH_PROFILE ? ['--cpu-prof', '--cpu-prof-dir=bench/results/profile'] : [];
  const tessera = startTs('src/main.ts', [], env, profile);
  await tessera.waitFor(/Tessera listening/, 120_000);
  process.stdout.write(await runTs('src/cli/main.ts', ['apply', 'bench/bench.yaml'], { ...env, ...secrets }));
  const issuer = `http://127.0.0.1:${port}`;
  const rp = { issuer, clientId: 'bench-web', clientSecret: secrets.BENCH_WEB_SECRET, redirectUri: 'https://bench.example.com/callback' };
  const { tokens } = await login(await discover(rp), rp, {
    loginName: 'bench-user@bench.example.com', password: secrets.BENCH_USER_PASSWORD, scope: 'openid profile email',
  });
  return {
    requests: requests(await discovery(issuer), tokens.access_token,
      ['bench-machine', secrets.BENCH_MACHINE_SECRET], ['bench-api', secrets.BENCH_API_SECRET]),
    pid: tessera.child.pid!,
  };
}

/**
 * Transactions committed in the benchmark database so far. Tessera's lone queries each commit
 * one, so the difference over a run, divided by its requests, is its queries per request.
 * Backends flush these counters about once a second, hence the pause before reading.
 */
async function dbTransactions(): Promise<number> {
  await new Promise((r) => setTimeout(r, 2000));
  const client = new pg.Client({ connectionString: DATABASE_URL });
  await client.connect();
  try {
    const name = new URL(DATABASE_URL).pathname.slice(1);
    const { rows } = await client.query('SELECT xact_commit + xact_rollback AS n FROM pg_stat_database WHERE datname = $1', [name]);
    return Number(rows[0].n);
  } finally {
    await client.end();
  }
}

/**
 * CPU time a process has used so far (user + system, ms), from /proc: per request, it tells a
 * server that computes from one that waits (on PostgreSQL, Redis, or a busy machine's scheduler).
 */
/** /proc counts CPU time in clock ticks of USER_HZ, which Linux fixes at 100 for user space. */
const CLOCK_TICKS = 100;
function cpuMs(pid: number): number | undefined {
  try {
    // Fields after the command name, which is in parentheses and may hold spaces.
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return ((Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS) * 1000;
  } catch {
    return undefined; // not Linux
  }
}
async function measure(spec: LoadSpec): Promise<LoadResult> {
  const out = await runTs('bench/load.ts', [JSON.stringify(spec)], {}, (spec.warmup + spec.duration + 60) * 1000);
  return JSON.parse(out.trim().split('\n').pop()!) as LoadResult;
}

async function main(): Promise<void> {
  stopAllOnExit();
  const machine = describeMachine();
  const started = new Date();
  process.stdout.write(`bench: ${machineLine(machine)}\n`);
  await freshDatabase(DATABASE_URL);
  const running: Record<Server, Running> = { bare: await startBare(), tessera: await startTessera() };
  for (const server of ['bare', 'tessera'] as const) await checkOnce(server, running[server].requests);

  const { connections, duration, warmup } = settings;
  const rounds: Measurement[][] = [];
  for (let round = 0; round < settings.rounds; round++) {
    const measurements: Measurement[] = [];
    rounds.push(measurements);
    // Endpoint by endpoint, both servers back to back, so they meet the same background load as
    // closely as possible; every other round Tessera goes first, so drift favours neither.
    const order = round % 2 ? (['tessera', 'bare'] as const) : (['bare', 'tessera'] as const);
    for (const scenario of settings.scenarios) for (const server of order) {
      process.stdout.write(`bench: round ${round + 1}/${settings.rounds}: ${scenario} against ${server}, ${connections} connections, ${warmup} s warm-up + ${duration} s\n`);
      const { requests: reqs, pid } = running[server];
      const before = server === 'tessera' ? await dbTransactions() : 0;
      const cpuBefore = cpuMs(pid);
      const result = await measure({ ...reqs[scenario], connections, duration, warmup });
      const cpuAfter = cpuMs(pid);
      const served = Math.max(1, result.total + result.warmupTotal);
      // Our own counting connection commits once per reading: not Tessera's.
      const dbPerRequest = server === 'tessera' ? (await dbTransactions() - before - 1) / served : undefined;
      const cpuMsPerRequest = cpuBefore === undefined || cpuAfter === undefined ? undefined : (cpuAfter - cpuBefore) / served;
      measurements.push({ scenario, server, result, dbPerRequest, cpuMsPerRequest });
    }
  }
  const measurements = medianOfRounds(rounds);
  machine.loadAfter = Math.round(os.loadavg()[0] * 100) / 100;
  // The same checks again: a token evicted or revoked under load would have made the figures meaningless.
  for (const server of ['bare', 'tessera'] as const) await checkOnce(server, running[server].requests);

  const table = markdownTable(measurements);
  const note = sharedMachineNote(machine);
  const how = `${connections} connections, ${warmup} s warm-up + ${duration} s per endpoint and server${settings.rounds > 1 ? `; each figure the median of ${settings.rounds} rounds` : ''}`;
  const report = [how, '', table, '', ...targetLines(measurements), '', `Machine: ${machineLine(machine)}`, ...(note ? [note] : [])].join('\n');
  process.stdout.write(`\n${report}\n`);
  mkdirSync('bench/results', { recursive: true });
  writeFileSync('bench/results/latest.json', `${JSON.stringify({
    date: started.toISOString(), settings, machine, measurements, rounds, targets: targetLines(measurements), table,
  }, null, 2)}\n`);
  process.stdout.write('\nbench: wrote bench/results/latest.json\n');
}

try {
  await main();
} catch (err) {
  process.stderr.write(`bench failed: ${(err as Error).stack ?? err}\n`);
  process.exitCode = 1;
} finally {
  await stopAll();
}
