/**
 * The benchmark's shapes and its report: the machine it ran on, and the markdown table that
 * puts every Tessera figure beside the bare oidc-provider's. Pure apart from reading the
 * machine, so it is unit-tested (test/unit/bench-report.test.ts).
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';

/** What bench/load.ts is asked to do. */
export interface LoadSpec {
  url: string;
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  connections: number;
  /** seconds measured */
  duration: number;
  /** seconds of discarded load first */
  warmup: number;
}

/** What bench/load.ts answers (latencies in ms). */
export interface LoadResult { rps: number; total: number; warmupTotal: number; p50: number; p99: number; non2xx: number; errors: number }

export type Server = 'bare' | 'tessera';
export const SCENARIOS = ['client_credentials', 'userinfo', 'introspection'] as const;
export type Scenario = (typeof SCENARIOS)[number];

export interface Measurement {
  scenario: Scenario;
  server: Server;
  result: LoadResult;
  /** Tessera only: PostgreSQL transactions per request (each lone query is one), from pg_stat_database */
  dbPerRequest?: number;
  /** the server process's CPU time (user + system) per request, in ms */
  cpuMsPerRequest?: number;
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

export const TARGETS = { clientCredentialsShare: 0.5, userinfoP99Ms: 50 };

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/**
 * Several rounds (BENCH_ROUNDS) of the same measurement, folded into one per endpoint and
 * server: the median of each figure, so one round disturbed by the machine's other work does
 * not decide the table; error counts are summed, so none is hidden.
 */
export function medianOfRounds(rounds: Measurement[][]): Measurement[] {
  const out: Measurement[] = [];
  for (const scenario of SCENARIOS) {
    for (const server of ['bare', 'tessera'] as const) {
      const all = rounds.flat().filter((m) => m.scenario === scenario && m.server === server);
      if (!all.length) continue;
      const med = (f: (m: Measurement) => number | undefined) => {
        const values = all.map(f).filter((v): v is number => v !== undefined);
        return values.length ? median(values) : undefined;
      };
      const sum = (f: (r: LoadResult) => number) => all.reduce((n, m) => n + f(m.result), 0);
      out.push({
        scenario, server,
        result: {
          rps: med((m) => m.result.rps)!, p50: med((m) => m.result.p50)!, p99: med((m) => m.result.p99)!,
          total: sum((r) => r.total), warmupTotal: sum((r) => r.warmupTotal), non2xx: sum((r) => r.non2xx), errors: sum((r) => r.errors),
        },
        dbPerRequest: med((m) => m.dbPerRequest),
        cpuMsPerRequest: med((m) => m.cpuMsPerRequest),
      });
    }
  }
  return out;
}

export function describeMachine(): Machine {
  let cpu = os.cpus()[0]?.model ?? 'unknown';
  try {
    const line = readFileSync('/proc/cpuinfo', 'utf8').split('\n').find((l) => l.startsWith('model name'));
    if (line) cpu = line.slice(line.indexOf(':') + 1).trim();
  } catch { /* not Linux: os.cpus() is the best we have */ }
  return {
    cpu,
    cores: os.cpus().length,
    ramGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    os: `${os.type()} ${os.release()}`,
    loadBefore: round(os.loadavg()[0], 2),
  };
}

function round(n: number, digits = 0): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

/** Tessera's throughput as a share of the bare provider's, or undefined when either is missing. */
export function shareOfBare(measurements: Measurement[], scenario: Scenario): number | undefined {
  const bare = measurements.find((m) => m.scenario === scenario && m.server === 'bare')?.result;
  const tessera = measurements.find((m) => m.scenario === scenario && m.server === 'tessera')?.result;
  if (!bare || !tessera || bare.rps <= 0) return undefined;
  return tessera.rps / bare.rps;
}

const SERVER_NAMES: Record<Server, string> = { bare: 'bare oidc-provider', tessera: 'Tessera' };

export function markdownTable(measurements: Measurement[]): string {
  const lines = [
    '| endpoint | server | req/s | p50 (ms) | p99 (ms) | non-2xx | errors | Tessera vs bare | server CPU ms/req | DB queries/req |',
    '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const scenario of SCENARIOS) {
    for (const server of ['bare', 'tessera'] as const) {
      const m = measurements.find((x) => x.scenario === scenario && x.server === server);
      if (!m) continue;
      const r = m.result;
      const share = server === 'tessera' ? shareOfBare(measurements, scenario) : undefined;
      const db = m.dbPerRequest === undefined ? '' : String(round(m.dbPerRequest, 1));
      const cpu = m.cpuMsPerRequest === undefined ? '' : String(round(m.cpuMsPerRequest, 2));
      lines.push(`| ${scenario} | ${SERVER_NAMES[server]} | ${round(r.rps)} | ${r.p50} | ${r.p99} | ${r.non2xx} | ${r.errors} | ${share === undefined ? '' : `${round(share * 100, 1)}%`} | ${cpu} | ${db} |`);
    }
  }
  return lines.join('\n');
}

/** The targets of issue 3, reported (never asserted): met, missed, or not measured. */
export function targetLines(measurements: Measurement[]): string[] {
  const share = shareOfBare(measurements, 'client_credentials');
  const userinfo = measurements.find((m) => m.scenario === 'userinfo' && m.server === 'tessera')?.result;
  const verdict = (ok: boolean) => (ok ? 'met' : 'missed');
  return [
    share === undefined ? '- client_credentials ≥ 50% of bare: not measured'
      : `- client_credentials ≥ ${TARGETS.clientCredentialsShare * 100}% of bare throughput: ${round(share * 100, 1)}%, ${verdict(share >= TARGETS.clientCredentialsShare)}`,
    userinfo === undefined ? '- userinfo p99 < 50 ms: not measured'
      : `- userinfo p99 < ${TARGETS.userinfoP99Ms} ms: ${userinfo.p99} ms, ${verdict(userinfo.p99 < TARGETS.userinfoP99Ms)}`,
  ];
}

export function machineLine(m: Machine): string {
  const load = m.loadAfter === undefined ? `${m.loadBefore}` : `${m.loadBefore} before, ${m.loadAfter} after`;
  return `${m.cpu}, ${m.cores} cores, ${m.ramGiB} GiB RAM, Node ${m.node}, ${m.os}; 1-min load average ${load}`;
}

/** A loaded machine (more runnable work than cores) makes every figure noisy: say so beside them. */
export function sharedMachineNote(m: Machine): string | undefined {
  const load = Math.max(m.loadBefore, m.loadAfter ?? 0);
  if (load <= m.cores) return undefined;
  return `Note: the machine was shared with other work (load average ${load} on ${m.cores} cores), so absolute figures are low and noisy; the Tessera/bare ratio, measured in the same run, is the figure to read.`;
}
