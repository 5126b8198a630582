/**
 * The benchmark's shapes and its report: the machine it ran on, and the one markdown table that
 * puts every Tessera figure beside its ceiling from the same run, with the target and whether it
 * was met. Pure apart from reading the machine, so it is unit-tested (test/unit/bench-report.test.ts).
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';

/** The scenarios `npm run bench` knows, in the order it runs them (BENCH_ONLY picks some). */
export const SCENARIOS = ['tokens', 'signin', 'management', 'tenants', 'large', 'console'] as const;
export type ScenarioName = (typeof SCENARIOS)[number];

/** One request of a load: URL, method, headers (Host included when it names an instance), body. */
export interface LoadRequest {
  url: string;
  method?: string;
  headers?: Record<string, string>;
  body?: string;
}

/** What bench/load.ts is asked to do: one request, or a list every connection walks in turn (round-robin). */
export interface LoadSpec extends LoadRequest {
  requests?: LoadRequest[];
  connections: number;
  /** seconds measured */
  duration: number;
  /** seconds of discarded load first */
  warmup: number;
}

/** What bench/load.ts answers (latencies in ms). */
export interface LoadResult {
  rps: number;
  total: number;
  warmupTotal: number;
  p50: number;
  p99: number;
  non2xx: number;
  errors: number;
}

/** One measured figure: a rate (per second), or a size or time, with what the load saw. */
export interface Figure {
  value: number;
  /** 'req/s', 'sign-ins/s', 'verifies/s', 'ms', 'KiB', 'builds'… */
  unit: string;
  p50?: number;
  p99?: number;
  non2xx?: number;
  errors?: number;
  /** the server process's CPU time (user + system) per request, ms */
  cpuMsPerRequest?: number;
  /** the PostgreSQL server processes' CPU time per request, ms (they share the machine's cores) */
  dbCpuMsPerRequest?: number;
  /** PostgreSQL transactions per request (each lone query is one), from pg_stat_database */
  dbPerRequest?: number;
}

/** A target of issue 14, reported beside the figure, never asserted. */
export type Target =
  /** measured / ceiling at least this share */
  | { kind: 'share'; atLeast: number }
  /** the measured p50 below this many ms */
  | { kind: 'p50Below'; ms: number }
  /** the measured value at most this */
  | { kind: 'atMost'; value: number };

export interface Row {
  scenario: ScenarioName;
  /** what was measured, as a reader of the README would name it */
  path: string;
  measured: Figure;
  /** the ceiling measured in the same run, and what it is */
  ceiling?: { what: string; figure: Figure };
  targets?: Target[];
}

/** A scenario's result: its rows for the main table, and any detail (markdown) printed below it. */
export interface ScenarioResult {
  rows: Row[];
  details?: string[];
}

export interface Machine {
  cpu: string;
  cores: number;
  ramGiB: number;
  node: string;
  os: string;
  /** 1-minute load average before and after the run: a busy machine skews every figure */
  loadBefore: number;
  loadAfter?: number;
}

export function median(values: number[]): number {
  if (!values.length) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** The p-th percentile (0–100) of some values, nearest rank. */
export function percentile(values: number[], p: number): number {
  if (!values.length) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[Math.min(sorted.length, rank) - 1];
}

/**
 * Several rounds (BENCH_ROUNDS) of one figure, folded into one: the median of each number, so
 * one round disturbed by the machine's other work does not decide the table; error counts are
 * summed, so none is hidden.
 */
export function medianFigure(rounds: Figure[]): Figure {
  const med = (f: (x: Figure) => number | undefined) => {
    const values = rounds.map(f).filter((v): v is number => v !== undefined);
    return values.length ? median(values) : undefined;
  };
  const sum = (f: (x: Figure) => number | undefined) => {
    const values = rounds.map(f).filter((v): v is number => v !== undefined);
    return values.length ? values.reduce((a, b) => a + b, 0) : undefined;
  };
  return dropUndefined({
    value: med((x) => x.value)!,
    unit: rounds[0].unit,
    p50: med((x) => x.p50),
    p99: med((x) => x.p99),
    non2xx: sum((x) => x.non2xx),
    errors: sum((x) => x.errors),
    cpuMsPerRequest: med((x) => x.cpuMsPerRequest),
    dbCpuMsPerRequest: med((x) => x.dbCpuMsPerRequest),
    dbPerRequest: med((x) => x.dbPerRequest),
  });
}

function dropUndefined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

export function describeMachine(): Machine {
  let cpu = os.cpus()[0]?.model ?? 'unknown';
  try {
    const line = readFileSync('/proc/cpuinfo', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('model name'));
    if (line) cpu = line.slice(line.indexOf(':') + 1).trim();
  } catch {
    /* not Linux: os.cpus() is the best we have */
  }
  return {
    cpu,
    cores: os.cpus().length,
    ramGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    os: `${os.type()} ${os.release()}`,
    loadBefore: round(os.loadavg()[0], 2),
  };
}

export function round(n: number, digits = 0): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

/** Throughput as a share of the ceiling's, or undefined without a usable ceiling. */
export function shareOfCeiling(row: Row): number | undefined {
  const ceiling = row.ceiling?.figure.value;
  if (ceiling === undefined || !(ceiling > 0)) return undefined;
  return row.measured.value / ceiling;
}

/** Figures for error responses mean nothing: a row whose load saw any is never "met". */
export function failedRequests(f: Figure | undefined): number {
  return (f?.non2xx ?? 0) + (f?.errors ?? 0);
}

export function targetText(t: Target): string {
  switch (t.kind) {
    case 'share':
      return `≥ ${round(t.atLeast * 100)}% of ceiling`;
    case 'p50Below':
      return `p50 < ${t.ms} ms`;
    case 'atMost':
      return `≤ ${t.value}`;
  }
}

/** Whether one target is met: undefined when the figure it needs is missing. */
export function targetMet(row: Row, t: Target): boolean | undefined {
  switch (t.kind) {
    case 'share': {
      const share = shareOfCeiling(row);
      return share === undefined ? undefined : share >= t.atLeast;
    }
    case 'p50Below':
      return row.measured.p50 === undefined ? undefined : row.measured.p50 < t.ms;
    case 'atMost':
      return row.measured.value <= t.value;
  }
}

/** "met", "not met (…)", "invalid (…)" or "" for a row without a target. */
export function verdict(row: Row): string {
  const failed = failedRequests(row.measured) + failedRequests(row.ceiling?.figure);
  if (failed > 0) return `invalid (${failed} failed requests)`;
  // A rate of nothing is no figure: the load did not finish one request in the time.
  if (row.measured.unit.endsWith('/s') && !(row.measured.value > 0)) return 'invalid (nothing completed)';
  if (!row.targets?.length) return '';
  const results = row.targets.map((t) => ({ t, met: targetMet(row, t) }));
  if (results.some((r) => r.met === undefined)) return 'not measured';
  const missed = results.filter((r) => !r.met);
  if (!missed.length) return 'met';
  return results.length === 1 ? 'not met' : `not met (${missed.map((r) => targetText(r.t)).join('; ')})`;
}

const thousands = (n: number) => n.toLocaleString('en-US');

export function formatValue(f: Figure): string {
  const digits = f.value >= 100 ? 0 : f.value >= 10 ? 1 : 2;
  return `${thousands(round(f.value, digits))} ${f.unit}`;
}

function latencies(f: Figure): string {
  if (f.p50 === undefined && f.p99 === undefined) return '';
  const ms = (v: number | undefined) => (v === undefined ? '–' : String(round(v)));
  return `${ms(f.p50)} / ${ms(f.p99)}`;
}

export const TABLE_HEADER = [
  '| scenario | path | measured | p50 / p99 (ms) | ceiling, same run | share | target | met? | CPU ms/req | DB queries/req | DB CPU ms/req |',
  '| --- | --- | ---: | ---: | --- | ---: | --- | --- | ---: | ---: | ---: |',
];

export function markdownTable(rows: Row[]): string {
  const lines = [...TABLE_HEADER];
  for (const row of rows) {
    const m = row.measured;
    const share = shareOfCeiling(row);
    const ceiling = row.ceiling ? `${row.ceiling.what}: ${formatValue(row.ceiling.figure)}` : '';
    const cpu = m.cpuMsPerRequest === undefined ? '' : String(round(m.cpuMsPerRequest, 2));
    const db = m.dbPerRequest === undefined ? '' : String(round(m.dbPerRequest, 1));
    const dbCpu = m.dbCpuMsPerRequest === undefined ? '' : String(round(m.dbCpuMsPerRequest, 2));
    lines.push(
      `| ${row.scenario} | ${row.path} | ${formatValue(m)} | ${latencies(m)} | ${ceiling} | ${share === undefined ? '' : `${round(share * 100, 1)}%`} | ${(row.targets ?? []).map(targetText).join('; ')} | ${verdict(row)} | ${cpu} | ${db} | ${dbCpu} |`,
    );
  }
  return lines.join('\n');
}

/** Each targeted row in one line, for the end of the console output. */
export function targetLines(rows: Row[]): string[] {
  return rows
    .filter((r) => r.targets?.length)
    .map((r) => {
      const share = shareOfCeiling(r);
      const figure = r.targets!.some((t) => t.kind === 'share') && share !== undefined ? `${round(share * 100, 1)}%` : formatValue(r.measured);
      const p50 = r.targets!.some((t) => t.kind === 'p50Below') ? `, p50 ${r.measured.p50 === undefined ? '–' : round(r.measured.p50)} ms` : '';
      return `- ${r.scenario}: ${r.path} (${r.targets!.map(targetText).join('; ')}): ${figure}${p50}, ${verdict(r)}`;
    });
}

export function machineLine(m: Machine): string {
  const load = m.loadAfter === undefined ? `${m.loadBefore}` : `${m.loadBefore} before, ${m.loadAfter} after`;
  return `${m.cpu}, ${m.cores} cores, ${m.ramGiB} GiB RAM, Node ${m.node}, ${m.os}; 1-min load average ${load}`;
}

/**
 * The benchmark's own load (servers, load generator, PostgreSQL, Redis) keeps the load average
 * near the core count; well above it, other work shared the machine: say so beside the figures.
 */
export function sharedMachineNote(m: Machine): string | undefined {
  const load = Math.max(m.loadBefore, m.loadAfter ?? 0);
  if (load <= m.cores) return undefined;
  return `Note: the machine was shared with other work (load average ${load} on ${m.cores} cores), so absolute figures are low and noisy; the share of the ceiling, measured in the same run, is the figure to read.`;
}

/** A duration for people: 95 → "1 min 35 s". */
export function formatSeconds(s: number): string {
  const whole = Math.round(s);
  return whole < 60 ? `${whole} s` : `${Math.floor(whole / 60)} min ${whole % 60} s`;
}
