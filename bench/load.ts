/**
 * The load generator, run as its own process so it never competes with the server's event loop.
 * Input: one JSON file (runJson) (a LoadSpec). It first runs a discarded warm-up of the same requests
 * (JIT, connection pools and caches settle), then the measured run. Output: one JSON line (LoadResult).
 * With `requests`, every connection walks that list in turn: round-robin over instances or paths.
 */
import autocannon from 'autocannon';
import type { LoadRequest, LoadResult, LoadSpec } from './report.js';
import { readInput } from './processes.js';

const spec = readInput<LoadSpec>();

const asRequest = (r: LoadRequest): autocannon.Request => {
  const url = new URL(r.url);
  return { method: (r.method ?? 'GET') as autocannon.Request['method'], path: url.pathname + url.search, headers: r.headers ?? {}, body: r.body };
};

function once(duration: number): Promise<autocannon.Result> {
  return autocannon({
    url: spec.url,
    method: (spec.method ?? 'GET') as autocannon.Request['method'],
    headers: spec.headers ?? {},
    body: spec.body,
    requests: spec.requests?.map(asRequest),
    connections: spec.connections,
    duration,
  });
}

const warm = spec.warmup > 0 ? await once(spec.warmup) : undefined;
const result = await once(spec.duration);
const out: LoadResult = {
  warmupTotal: warm?.requests.total ?? 0,
  rps: result.requests.average,
  total: result.requests.total,
  p50: result.latency.p50,
  p99: result.latency.p99,
  non2xx: result.non2xx,
  errors: result.errors, // timeouts included
};
process.stdout.write(`${JSON.stringify(out)}\n`);
