/**
 * Full sign-ins (authorization request → login-name page → password page → callback → code
 * exchange), `signinConcurrency` in flight over `signinAccounts` accounts, beside their ceiling:
 * argon2id verifies per second at Tessera's hashing parameters and the same concurrency, in the
 * same run. Every sign-in verifies one password, so that is as fast as sign-ins can go.
 */
import type { Argon2Result, Argon2Spec } from '../argon2-load.js';
import { cpuMs, dbTransactions, log, type Settings } from '../harness.js';
import { signinSpec, type BenchInstance } from '../instance.js';
import { runJson } from '../processes.js';
import { medianFigure, type Figure, type Row } from '../report.js';
import { breakdownTable, type SigninResult } from '../signin.js';
import type { BenchContext, Scenario } from './context.js';

/** One sign-in load against an instance, as a Figure (sign-ins/s), with the raw result for the breakdown. */
export async function measureSignins(ctx: BenchContext, inst: BenchInstance, single: number): Promise<{ figure: Figure; result: SigninResult }> {
  const { settings } = ctx;
  const spec = signinSpec(inst, { concurrency: settings.signinConcurrency, duration: settings.duration, warmup: settings.warmup, single });
  const dbBefore = await dbTransactions();
  const cpuBefore = cpuMs(ctx.tessera.pid);
  const result = await runJson<SigninResult>('bench/signin-load.ts', spec, (settings.duration + settings.warmup + 240) * 1000);
  const cpuAfter = cpuMs(ctx.tessera.pid);
  if (result.failures) throw new Error(`${result.failures} sign-ins failed, the first: ${result.firstFailure}`);
  const all = Math.max(1, result.total);
  const db = ((await dbTransactions()) - dbBefore - 1) / all;
  return {
    result,
    figure: {
      value: result.rate,
      unit: 'sign-ins/s',
      p50: result.p50,
      p99: result.p99,
      dbPerRequest: db,
      ...(cpuBefore !== undefined && cpuAfter !== undefined ? { cpuMsPerRequest: (cpuAfter - cpuBefore) / all } : {}),
    },
  };
}

export async function measureArgon2(ctx: BenchContext): Promise<Figure> {
  const { settings } = ctx;
  const spec: Argon2Spec = {
    params: ctx.tessera.config.passwordHashing,
    concurrency: settings.signinConcurrency,
    duration: settings.duration,
    warmup: settings.warmup,
  };
  const r = await runJson<Argon2Result>('bench/argon2-load.ts', spec, (settings.duration + settings.warmup + 60) * 1000);
  return { value: r.rate, unit: 'verifies/s', p50: r.p50, p99: r.p99 };
}

export const argon2What = (s: Settings, p: { memoryCost: number; timeCost: number; parallelism: number }) =>
  `argon2id verifies (m=${p.memoryCost} KiB, t=${p.timeCost}, p=${p.parallelism}), ${s.signinConcurrency} concurrent`;

export const signin: Scenario = async (ctx) => {
  const { settings } = ctx;
  const signins: Figure[] = [];
  const argon: Figure[] = [];
  let last: SigninResult | undefined;
  for (let round = 0; round < settings.rounds; round++) {
    const signinFirst = round % 2 === 1;
    const doSignins = async () => {
      log(
        `signin: ${settings.signinConcurrency} concurrent sign-ins over ${ctx.small.accounts.length} accounts, ${settings.warmup} s warm-up + ${settings.duration} s`,
      );
      const { figure, result } = await measureSignins(ctx, ctx.small, round === 0 ? 20 : 0);
      signins.push(figure);
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
  }
  const row: Row = {
    scenario: 'signin',
    path: `full sign-in, ${settings.signinConcurrency} concurrent, ${ctx.small.accounts.length} accounts`,
    measured: medianFigure(signins),
    ceiling: { what: argon2What(settings, ctx.tessera.config.passwordHashing), figure: medianFigure(argon) },
    targets: [
      { kind: 'share', atLeast: 0.75 },
      { kind: 'p50Below', ms: 300 },
    ],
  };
  return {
    rows: [row],
    details: [
      'Where a sign-in\'s time goes (each HTTP request of the flow; "alone": 20 sign-ins one at a time before the load):',
      '',
      breakdownTable(last!, settings.signinConcurrency),
    ],
  };
};
