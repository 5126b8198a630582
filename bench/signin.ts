/**
 * Full sign-ins as a browser and its relying party make them: the authorization request, the
 * login-name page, the password page, back to /auth, the callback, the code exchange. The shapes
 * of bench/signin-load.ts and the pure parts (naming steps, summing them up), unit-tested in
 * test/unit/bench-report.test.ts.
 */
import { median, percentile } from './report.js';

export interface SigninAccount {
  loginName: string;
  password: string;
}

/** What bench/signin-load.ts is asked to do. */
export interface SigninSpec {
  /** the instance's issuer as a client sees it (its host names the instance; requests go to 127.0.0.1) */
  issuer: string;
  clientId: string;
  clientSecret: string;
  redirectUri: string;
  scope: string;
  accounts: SigninAccount[];
  /** sign-ins in flight at once */
  concurrency: number;
  /** seconds measured */
  duration: number;
  /** seconds of discarded sign-ins first */
  warmup: number;
  /** sign-ins made one at a time before the load, for the breakdown of a single sign-in */
  single: number;
}

/** What bench/bare-signin.ts is started with (BARE_SIGNIN, JSON): the accounts' password and argon2's parameters. */
export interface BareSigninSetup {
  password: string;
  params: { memoryCost: number; timeCost: number; parallelism: number };
}
/** The bare provider's one client. */
export const BARE_CLIENT = { id: 'bench', secret: 'bench-secret-bench-secret-bench-secret', redirectUri: 'http://127.0.0.1/cb' };

/** One HTTP request of a sign-in, and how long it took (ms). */
export interface StepTiming {
  step: string;
  ms: number;
}

export interface StepStat {
  step: string;
  p50: number;
  p99: number;
  mean: number;
}

/** What bench/signin-load.ts answers (latencies in ms). */
export interface SigninResult {
  /** sign-ins completed in the measured time, and per second */
  completed: number;
  rate: number;
  /** every sign-in made, the single ones and the warm-up's included (per-request costs divide by it) */
  total: number;
  p50: number;
  p99: number;
  failures: number;
  firstFailure?: string;
  /** per step, under the load */
  steps: StepStat[];
  /** per step, one sign-in at a time on an otherwise idle server */
  single: StepStat[];
  /** one sign-in at a time: the median total */
  singleTotal: number;
  /** the load generator's own CPU time per sign-in (user + system), over all of them */
  cpuMsPerSignin: number;
}

/**
 * The name of a request in the breakdown: method and path, with the interaction's uid (a long
 * random path segment) replaced, so every sign-in's requests fall into the same steps.
 */
export function stepLabel(method: string, url: URL): string {
  const path = url.pathname
    .split('/')
    .map((seg) => (/^[A-Za-z0-9_-]{16,}$/.test(seg) ? ':uid' : seg))
    .join('/');
  return `${method.toUpperCase()} ${path}`;
}

/** Per step, in the order steps first occur: p50, p99 and mean over all sign-ins. */
export function stepStats(timings: StepTiming[][]): StepStat[] {
  const byStep = new Map<string, number[]>();
  for (const signin of timings) {
    for (const t of signin) {
      let list = byStep.get(t.step);
      if (!list) byStep.set(t.step, (list = []));
      list.push(t.ms);
    }
  }
  return [...byStep].map(([step, ms]) => ({
    step,
    p50: median(ms),
    p99: percentile(ms, 99),
    mean: ms.reduce((a, b) => a + b, 0) / ms.length,
  }));
}

const r1 = (n: number) => Math.round(n * 10) / 10;

/** The breakdown as markdown: one sign-in alone, and each step's share under the load. */
export function breakdownTable(result: SigninResult, concurrency: number): string {
  const load = new Map(result.steps.map((s) => [s.step, s]));
  const lines = [
    `| step of one sign-in | alone: median (ms) | ${concurrency} concurrent: p50 (ms) | ${concurrency} concurrent: p99 (ms) |`,
    '| --- | ---: | ---: | ---: |',
  ];
  const steps = result.single.length ? result.single : result.steps;
  for (const s of steps) {
    const l = load.get(s.step);
    lines.push(`| ${s.step} | ${result.single.length ? r1(s.p50) : ''} | ${l ? r1(l.p50) : ''} | ${l ? r1(l.p99) : ''} |`);
  }
  lines.push(`| whole sign-in | ${result.single.length ? r1(result.singleTotal) : ''} | ${r1(result.p50)} | ${r1(result.p99)} |`);
  return lines.join('\n');
}

/** CPU time per sign-in (ms) of every process taking part, each the median over the rounds; undefined where not measured. */
export interface SigninCpu {
  server?: number;
  postgres?: number;
  redis?: number;
  loadGenerator?: number;
}

const sumOf = (c: SigninCpu) => (c.server ?? 0) + (c.postgres ?? 0) + (c.redis ?? 0) + (c.loadGenerator ?? 0);

/**
 * Where the machine's CPU goes per sign-in, Tessera's and the floor's, beside one argon2id verify:
 * with every core busy, sign-ins per second can be at most cores × 1000 / total, so a sign-in
 * reaches a share of argon2's own rate only if its total is at most the verify's over that share.
 */
export function cpuBudgetTable(tessera: SigninCpu, floor: SigninCpu, argon2PerVerify: number, cores: number, targetShare: number): string {
  const cell = (n: number | undefined) => (n === undefined ? '–' : String(r1(n)));
  const rate = (total: number) => `${r1((cores * 1000) / total)} (${r1((argon2PerVerify / total) * 100)}%)`;
  const lines = [
    "| CPU per sign-in (ms), every process on the machine | Tessera's sign-in | the floor (bare oidc-provider) | one argon2id verify alone |",
    '| --- | ---: | ---: | ---: |',
    `| the server's process (argon2's threads included) | ${cell(tessera.server)} | ${cell(floor.server)} | ${cell(argon2PerVerify)} |`,
    `| PostgreSQL | ${cell(tessera.postgres)} | – | – |`,
    `| Redis | ${cell(tessera.redis)} | – | – |`,
    `| the load generator | ${cell(tessera.loadGenerator)} | ${cell(floor.loadGenerator)} | – |`,
    `| total | ${cell(sumOf(tessera))} | ${cell(sumOf(floor))} | ${cell(argon2PerVerify)} |`,
    `| at most, ${cores} cores busy: per second (share of argon2's) | ${rate(sumOf(tessera))} | ${rate(sumOf(floor))} | ${rate(argon2PerVerify)} |`,
  ];
  return [
    ...lines,
    '',
    `${r1(targetShare * 100)}% of argon2's rate needs a total of at most ${r1(argon2PerVerify / targetShare)} ms per sign-in: ${r1(argon2PerVerify / targetShare - argon2PerVerify)} ms for everything but the verify.`,
  ].join('\n');
}
