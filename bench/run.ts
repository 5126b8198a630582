/**
 * `npm run bench`: Tessera's paths users really take, each beside its ceiling measured in the same
 * run on the same machine (docs/benchmark.md).
 *
 * 1. a fresh database (dropped and created), then each server as its own process: the bare
 *    oidc-provider (bench/bare-provider.ts) and Tessera (`src/main.ts`) on real PostgreSQL and Redis;
 * 2. the small instance seeded with `tessera apply` (bench/seed.ts) and a user signed in;
 * 3. the scenarios (bench/scenarios/), in order, or those named by `--only` / BENCH_ONLY
 *    (comma-separated): tokens, signin, management, tenants, large, console; `--quick` for a smaller, shorter run;
 * 4. one markdown table with every figure, its ceiling, the target and whether it was met, and
 *    bench/results/latest.json with the machine it ran on.
 *
 * Settings (environment, defaults in bench/harness.ts): BENCH_CONNECTIONS (20),
 * BENCH_API_CONNECTIONS (10), BENCH_SIGNIN_CONCURRENCY (8), BENCH_SIGNIN_ACCOUNTS (40),
 * BENCH_DURATION (8 s), BENCH_WARMUP (2 s), BENCH_ROUNDS (1; more: each figure the median),
 * BENCH_TENANTS (1000), BENCH_LARGE_USERS (100000), BENCH_LARGE_GRANTS_PER_USER (10),
 * BENCH_CONSOLE_USERS (10000), BENCH_CONSOLE_PROJECTS (200), BENCH_CONSOLE_REQUESTS (40),
 * BENCH_DATABASE_URL, BENCH_REDIS_URL, BENCH_PROFILE=1 (a CPU profile of Tessera into
 * bench/results/profile/). All traffic goes to 127.0.0.1.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { argsToEnv, DATABASE_URL, freshDatabase, log, readSettings, secret, startBare, startTessera } from './harness.js';
import { once, openInstance } from './instance.js';
import { stopAll, stopAllOnExit } from './processes.js';
import { describeMachine, formatSeconds, machineLine, markdownTable, sharedMachineNote, targetLines, type Row, type ScenarioName } from './report.js';
import { benchInstance, secretsEnv, signinLoginNames, type Secrets } from './seed.js';
import type { BenchContext, Scenario } from './scenarios/context.js';
import { bareRequests, tokens } from './scenarios/tokens.js';
import { signin } from './scenarios/signin.js';
import { management } from './scenarios/management.js';
import { tenants } from './scenarios/tenants.js';
import { large } from './scenarios/large.js';
import { consolePages } from './scenarios/console.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
process.chdir(root);

const scenarios: Record<ScenarioName, Scenario> = { tokens, signin, management, tenants, large, console: consolePages };

/** Tessera's last output, printed when the run fails (a 500 says more in the server's log). */
let serverOutput: (() => string) | undefined;

async function main(): Promise<void> {
  stopAllOnExit();
  const settings = readSettings({ ...process.env, ...argsToEnv(process.argv.slice(2)) });
  const machine = describeMachine();
  const started = new Date();
  log(machineLine(machine));
  log(`scenarios: ${settings.scenarios.join(', ')}${settings.quick ? ' (quick mode: figures not to quote)' : ''}`);
  mkdirSync('bench/results', { recursive: true });
  await freshDatabase(DATABASE_URL);
  const bare = await startBare();
  const tessera = await startTessera();
  serverOutput = () => tessera.child.output();
  const secrets: Secrets = {
    userPassword: `Bench-${secret()}-9a!`,
    machineSecret: secret(),
    webSecret: secret(),
    apiSecret: secret(),
    callerSecret: secret(),
  };
  const mailDomain = 'bench.example.com';
  await tessera.apply('small', { instances: [benchInstance(['localhost', '127.0.0.1'], 'Bench', settings.signinAccounts, mailDomain)] }, secretsEnv(secrets));
  const accounts = signinLoginNames(settings.signinAccounts, mailDomain).map((loginName) => ({ loginName, password: secrets.userPassword }));
  const small = await openInstance(tessera, '127.0.0.1', secrets, accounts);
  for (const r of Object.values(bareRequests(bare))) await once(r);
  const ctx: BenchContext = { settings, tessera, bare, small };

  const rows: Row[] = [];
  const details: string[] = [];
  const durations: string[] = [];
  for (const name of settings.scenarios) {
    const t0 = performance.now();
    const result = await scenarios[name](ctx);
    const took = formatSeconds((performance.now() - t0) / 1000);
    durations.push(`${name} ${took}`);
    log(`${name}: done in ${took}`);
    rows.push(...result.rows);
    if (result.details?.length) details.push(...result.details, '');
    // Each scenario's figures as soon as they exist: a later failure must not lose them.
    process.stdout.write(`\n${markdownTable(result.rows)}\n\n`);
    writeFileSync('bench/results/partial.json', `${JSON.stringify({ date: started.toISOString(), settings, machine, rows, details }, null, 2)}\n`);
  }
  // The bare provider's tokens must still work: figures for 401s would flatter nobody.
  for (const r of Object.values(bareRequests(bare))) await once(r);
  machine.loadAfter = Math.round(os.loadavg()[0] * 100) / 100;

  const total = formatSeconds((Date.now() - started.getTime()) / 1000);
  const how = `${settings.warmup} s warm-up + ${settings.duration} s per load; ${settings.connections} connections (tokens, discovery), ${settings.apiConnections} (Management API), ${settings.signinConcurrency} sign-ins in flight${settings.rounds > 1 ? `; each figure the median of ${settings.rounds} rounds` : ''}. Run took ${total} (${durations.join(', ')}).`;
  const table = markdownTable(rows);
  const note = sharedMachineNote(machine);
  const report = [how, '', table, '', ...details, 'Targets:', ...targetLines(rows), '', `Machine: ${machineLine(machine)}`, ...(note ? [note] : [])].join('\n');
  process.stdout.write(`\n${report}\n`);
  writeFileSync('bench/results/latest.json', `${JSON.stringify({ date: started.toISOString(), settings, machine, rows, details, table, report }, null, 2)}\n`);
  writeFileSync('bench/results/latest.md', `${report}\n`);
  log('wrote bench/results/latest.json and latest.md');
}

try {
  await main();
} catch (err) {
  process.stderr.write(`bench failed: ${(err as Error).stack ?? err}\n`);
  if (serverOutput) process.stderr.write(`\nTessera's last output:\n${serverOutput().split('\n').slice(-30).join('\n')}\n`);
  process.exitCode = 1;
} finally {
  await stopAll();
}
