/**
 * Full sign-ins (authorization request → login-name page → password page → callback → code
 * exchange), `signinConcurrency` in flight over `signinAccounts` accounts, beside their ceiling:
 * argon2id verifies per second at Tessera's hashing parameters and the same concurrency, in the
 * same run. Every sign-in verifies one password, so that is as fast as sign-ins can go.
 */
import type { Argon2Result, Argon2Spec } from '../argon2-load.js';
import { availableParallelism } from 'node:os';
import { cpuMs, dbTransactions, log, perRequest, postgresCpuMs, serverCpuMs, type Settings } from '../harness.js';
import { signinSpec, type BenchInstance } from '../instance.js';
import { freePort, runJson, startTs } from '../processes.js';
import { median, medianFigure, type Figure, type Row } from '../report.js';
import { BARE_CLIENT, breakdownTable, cpuBudgetTable, type BareSigninSetup, type SigninCpu, type SigninResult } from '../signin.js';
import type { BenchContext, Scenario } from './context.js';

/** One sign-in load against an instance, as a Figure (sign-ins/s), with the raw result for the breakdown. */
export async function measureSignins(
  ctx: BenchContext,
  inst: BenchInstance,
  single: number,
): Promise<{ figure: Figure; result: SigninResult; cpu: SigninCpu }> {
  const { settings } = ctx;
  const spec = signinSpec(inst, { concurrency: settings.signinConcurrency, duration: settings.duration, warmup: settings.warmup, single });
  const dbBefore = await dbTransactions();
  const cpuBefore = cpuMs(ctx.tessera.pid);
  const pgBefore = postgresCpuMs();
  const redisBefore = serverCpuMs('redis-server');
  const result = await runJson<SigninResult>('bench/signin-load.ts', spec, (settings.duration + settings.warmup + 240) * 1000);
  const cpuAfter = cpuMs(ctx.tessera.pid);
  const pgAfter = postgresCpuMs();
  const redisAfter = serverCpuMs('redis-server');
  if (result.failures) throw new Error(`${result.failures} sign-ins failed, the first: ${result.firstFailure}`);
  const all = Math.max(1, result.total);
  const db = ((await dbTransactions()) - dbBefore - 1) / all;
  const cpu = perRequest(cpuBefore, cpuAfter, all);
  const dbCpu = perRequest(pgBefore, pgAfter, all);
  return {
    result,
    cpu: { server: cpu, postgres: dbCpu, redis: perRequest(redisBefore, redisAfter, all), loadGenerator: result.cpuMsPerSignin },
    figure: {
      value: result.rate,
      unit: 'sign-ins/s',
      p50: result.p50,
      p99: result.p99,
      dbPerRequest: db,
      ...(cpu !== undefined ? { cpuMsPerRequest: cpu } : {}),
      ...(dbCpu !== undefined ? { dbCpuMsPerRequest: dbCpu } : {}),
    },
  };
}

export async function measureArgon2(ctx: BenchContext): Promise<Figure & { cpuMsPerVerify: number }> {
  const { settings } = ctx;
  const spec: Argon2Spec = {
    params: ctx.tessera.config.passwordHashing,
    concurrency: settings.signinConcurrency,
    duration: settings.duration,
    warmup: settings.warmup,
  };
  const r = await runJson<Argon2Result>('bench/argon2-load.ts', spec, (settings.duration + settings.warmup + 60) * 1000);
  return { value: r.rate, unit: 'verifies/s', p50: r.p50, p99: r.p99, cpuMsPerVerify: r.cpuMsPerVerify };
}

/**
 * The same flow, the same load, against a bare oidc-provider whose login only verifies argon2id
 * (bench/bare-signin.ts): the floor of any sign-in on this stack, so a reader can tell Tessera's
 * own work from what oidc-provider, HTTP and the load generator cost on this machine.
 */
export async function measureBareSignins(ctx: BenchContext, inst: BenchInstance): Promise<Figure & { cpu: SigninCpu }> {
  const { settings } = ctx;
  const port = await freePort();
  const setup: BareSigninSetup = { password: inst.accounts[0].password, params: ctx.tessera.config.passwordHashing };
  const bare = startTs('bench/bare-signin.ts', [String(port)], { NODE_ENV: 'production', BARE_SIGNIN: JSON.stringify(setup) });
  try {
    const { issuer } = JSON.parse(await bare.waitFor(/"ready":true/, 60_000)) as { issuer: string };
    const spec = {
      ...signinSpec(inst, { concurrency: settings.signinConcurrency, duration: settings.duration, warmup: settings.warmup, single: 0 }),
      issuer,
      clientId: BARE_CLIENT.id,
      clientSecret: BARE_CLIENT.secret,
      redirectUri: BARE_CLIENT.redirectUri,
      scope: 'openid',
    };
    const cpuBefore = cpuMs(bare.child.pid!);
    const result = await runJson<SigninResult>('bench/signin-load.ts', spec, (settings.duration + settings.warmup + 240) * 1000);
    const cpuAfter = cpuMs(bare.child.pid!);
    if (result.failures) throw new Error(`${result.failures} bare sign-ins failed, the first: ${result.firstFailure}`);
    const cpu = perRequest(cpuBefore, cpuAfter, Math.max(1, result.total));
    return {
      value: result.rate,
      unit: 'sign-ins/s',
      p50: result.p50,
      p99: result.p99,
      ...(cpu !== undefined ? { cpuMsPerRequest: cpu } : {}),
      cpu: { server: cpu, loadGenerator: result.cpuMsPerSignin },
    };
  } finally {
    await bare.stop();
  }
}

export const argon2What = (s: Settings, p: { memoryCost: number; timeCost: number; parallelism: number }) =>
  `argon2id verifies (m=${p.memoryCost} KiB, t=${p.timeCost}, p=${p.parallelism}), ${s.signinConcurrency} concurrent`;

export const signin: Scenario = async (ctx) => {
  const { settings } = ctx;
  const signins: Figure[] = [];
  const argon: (Figure & { cpuMsPerVerify: number })[] = [];
  const bare: (Figure & { cpu: SigninCpu })[] = [];
  const signinCpu: SigninCpu[] = [];
  let last: SigninResult | undefined;
  for (let round = 0; round < settings.rounds; round++) {
    const signinFirst = round % 2 === 1;
    const doSignins = async () => {
      log(
        `signin: ${settings.signinConcurrency} concurrent sign-ins over ${ctx.small.accounts.length} accounts, ${settings.warmup} s warm-up + ${settings.duration} s`,
      );
      const { figure, result, cpu } = await measureSignins(ctx, ctx.small, round === 0 ? 20 : 0);
      signins.push(figure);
      signinCpu.push(cpu);
      if (round === 0) last = result;
      else last = { ...result, single: last!.single, singleTotal: last!.singleTotal };
    };
    const doArgon = async () => {
      log(`signin: ceiling, ${argon2What(settings, ctx.tessera.config.passwordHashing)}`);
      argon.push(await measureArgon2(ctx));
    };
    if (signinFirst) {
      await doSignins();
      await doArgon();
    } else {
      await doArgon();
      await doSignins();
    }
    log('signin: the floor, the same flow on a bare oidc-provider whose login only verifies argon2id');
    bare.push(await measureBareSignins(ctx, ctx.small));
  }
  const ceiling = { what: argon2What(settings, ctx.tessera.config.passwordHashing), figure: medianFigure(argon) };
  const row: Row = {
    scenario: 'signin',
    path: `full sign-in, ${settings.signinConcurrency} concurrent, ${ctx.small.accounts.length} accounts`,
    measured: medianFigure(signins),
    ceiling,
    targets: [
      { kind: 'share', atLeast: 0.75 },
      { kind: 'p50Below', ms: 300 },
    ],
  };
  const floor: Row = {
    scenario: 'signin',
    path: `the same sign-in on a bare oidc-provider (memory storage; the login verifies argon2id, nothing else), ${settings.signinConcurrency} concurrent`,
    measured: medianFigure(bare),
    ceiling,
  };
  const againstFloor: Row = {
    scenario: 'signin',
    path: "full sign-in, against the bare provider's sign-in (the floor above)",
    measured: medianFigure(signins),
    ceiling: { what: 'bare oidc-provider sign-ins, same run', figure: medianFigure(bare) },
  };
  return {
    rows: [row, floor, againstFloor],
    details: [
      'Where a sign-in\'s time goes (each HTTP request of the flow; "alone": 20 sign-ins one at a time before the load):',
      '',
      breakdownTable(last!, settings.signinConcurrency),
      '',
      'Where the CPU of a sign-in goes (the load generator, PostgreSQL and Redis share the cores with the server):',
      '',
      cpuBudgetTable(medianCpu(signinCpu), medianCpu(bare.map((b) => b.cpu)), median(argon.map((a) => a.cpuMsPerVerify)), availableParallelism(), 0.75),
    ],
  };
};

/** Each process's median over the rounds. */
function medianCpu(rounds: SigninCpu[]): SigninCpu {
  const of = (k: keyof SigninCpu) => {
    const values = rounds.map((r) => r[k]).filter((v): v is number => v !== undefined);
    return values.length ? median(values) : undefined;
  };
  return { server: of('server'), postgres: of('postgres'), redis: of('redis'), loadGenerator: of('loadGenerator') };
}
