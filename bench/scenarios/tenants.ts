/**
 * Many tenants: `tenants` instances created through the System API (each with a machine user,
 * added with SQL), then discovery and client_credentials spread round-robin over all of them,
 * beside the same requests to one instance in the same run. Also: the memory each cached provider
 * holds (heap after garbage collection, in a process of its own: bench/provider-memory.ts), the
 * time to build one (logged by Tessera), and the provider builds during the round-robin loads: with
 * every provider built beforehand, any build there is a rebuild, and many are a rebuild storm.
 */
import argon2 from 'argon2';
import { basic, call, FORM, inBatches, instanceRequest, loadSpec, log, measureSideBySide, secret, withDatabase } from '../harness.js';
import { runJson } from '../processes.js';
import type { ProviderMemoryResult, ProviderMemorySpec } from '../provider-memory.js';
import { once } from '../instance.js';
import { formatSeconds, median, percentile, round, type LoadRequest, type Row } from '../report.js';
import { MACHINE } from '../seed.js';
import { tesseraTarget, type Scenario } from './context.js';

const TENANT_ORG = 'Tenant';
export const tenantDomain = (i: number) => `t${String(i + 1).padStart(4, '0')}.tenants.bench.test`;

/** A machine user in each tenant's first org, all with the same secret (its hash computed once). */
async function addMachineUsers(domains: string[], secretHash: string): Promise<void> {
  await withDatabase((c) =>
    c.query(
      `
    INSERT INTO users (instance_id, id, org_id, type, username, state, name, access_token_type, client_secret_hash)
    SELECT i.id, '7' || lpad(row_number() OVER ()::text, 17, '0'), i.default_org_id, 'machine', $2, 'active', 'Tenant machine', 'opaque', $3
    FROM instance_domains d JOIN instances i ON i.id = d.instance_id WHERE d.domain = ANY($1)`,
      [domains, MACHINE, secretHash],
    ),
  );
}

export const tenants: Scenario = async (ctx) => {
  const { settings, tessera, small } = ctx;
  const n = settings.tenants;
  const domains = Array.from({ length: n }, (_, i) => tenantDomain(i));
  const system = { authorization: `Bearer ${tessera.systemKey}` };
  const adminPassword = `Tenant-${secret()}-9a!`;

  log(`tenants: creating ${n} instances through the System API`);
  let t0 = performance.now();
  await inBatches(domains, 4, async (domain, i) => {
    const res = await call(`http://127.0.0.1:${tessera.port}/system/v1/instances`, {
      method: 'POST',
      headers: system,
      json: {
        name: `Tenant ${i + 1}`,
        domains: [domain],
        orgName: TENANT_ORG,
        admin: { username: 'admin', email: `admin@${domain}`, password: adminPassword },
      },
    });
    if (res.status !== 200 && res.status !== 201) throw new Error(`System API, create ${domain}: ${res.status} ${res.text}`);
  });
  const createSeconds = (performance.now() - t0) / 1000;
  log(`tenants: ${n} instances in ${formatSeconds(createSeconds)}; a machine user in each (SQL)`);
  t0 = performance.now();
  const machineSecret = secret();
  await addMachineUsers(domains, await argon2.hash(machineSecret, { type: argon2.argon2id, ...tessera.config.passwordHashing }));
  const seedSeconds = (performance.now() - t0) / 1000;

  const discoveryOf = (host: string) => instanceRequest(tessera, host, '/.well-known/openid-configuration');
  const tokenPath = new URL(small.discovery.token_endpoint).pathname;
  const ccOf = (host: string, id: string, pw: string): LoadRequest =>
    instanceRequest(tessera, host, tokenPath, {
      method: 'POST',
      body: 'grant_type=client_credentials',
      headers: { 'content-type': FORM, authorization: basic(id, pw) },
    });

  // Memory per provider: in a process of its own, with the heap collected (the server's resident
  // memory moves with its garbage collector by more than a provider weighs).
  const sample = Math.min(n, 200);
  log(`tenants: memory per provider, ${sample} providers built in a process of their own`);
  const ids = await withDatabase(
    async (c) =>
      (await c.query('SELECT domain, instance_id FROM instance_domains WHERE domain = ANY($1)', [domains.slice(0, sample)])).rows as {
        domain: string;
        instance_id: string;
      }[],
  );
  const memory = await runJson<ProviderMemoryResult>(
    'bench/provider-memory.ts',
    { env: tessera.env, instances: ids.map((r) => ({ id: r.instance_id, origin: `http://${r.domain}:${tessera.port}` })) } satisfies ProviderMemorySpec,
    10 * 60_000,
  );

  // Every provider built once, before the loads.
  const cacheSize = tessera.config.oidc.providerCacheSize;
  log(`tenants: first request to each instance (builds its provider); provider cache size ${cacheSize}`);
  const buildsBefore = tessera.builds.length;
  const firstRequest: number[] = [];
  t0 = performance.now();
  await inBatches(domains, 2, async (domain) => {
    const start = performance.now();
    await once(discoveryOf(domain));
    firstRequest.push(performance.now() - start);
    await once(ccOf(domain, MACHINE, machineSecret));
  });
  const warmSeconds = (performance.now() - t0) / 1000;
  const buildTimes = tessera.builds.slice(buildsBefore).filter((ms) => Number.isFinite(ms));

  const roundRobinDiscovery = { ...discoveryOf(domains[0]), requests: domains.map(discoveryOf) };
  const roundRobinCc = { ...ccOf(domains[0], MACHINE, machineSecret), requests: domains.map((d) => ccOf(d, MACHINE, machineSecret)) };
  const target = tesseraTarget(ctx);
  const buildsAtLoad = tessera.builds.length;
  const [rrDiscovery, singleDiscovery] = await measureSideBySide('tenants: discovery', settings, [
    { name: `round-robin over ${n} instances`, target, spec: loadSpec(settings, roundRobinDiscovery) },
    { name: 'one instance', target, spec: loadSpec(settings, discoveryOf(small.host)) },
  ]);
  const [rrCc, singleCc] = await measureSideBySide('tenants: client_credentials', settings, [
    { name: `round-robin over ${n} instances`, target, spec: loadSpec(settings, roundRobinCc) },
    { name: 'one instance', target, spec: loadSpec(settings, ccOf(small.host, MACHINE, small.secrets.machineSecret)) },
  ]);
  const rebuilds = tessera.builds.length - buildsAtLoad;

  const of = `${n.toLocaleString('en-US')} instances`;
  const rows: Row[] = [
    {
      scenario: 'tenants',
      path: `discovery, round-robin over ${of}`,
      measured: rrDiscovery,
      ceiling: { what: 'discovery of one instance', figure: singleDiscovery },
      targets: [{ kind: 'share', atLeast: 0.5 }],
    },
    {
      scenario: 'tenants',
      path: `client_credentials, round-robin over ${of}`,
      measured: rrCc,
      ceiling: { what: 'client_credentials of one instance', figure: singleCc },
      targets: [{ kind: 'share', atLeast: 0.5 }],
    },
    {
      scenario: 'tenants',
      path: 'provider builds during those loads (all built before)',
      measured: { value: rebuilds, unit: 'builds' },
      targets: [{ kind: 'atMost', value: 0 }],
    },
  ];
  rows.push({
    scenario: 'tenants',
    path: `memory per cached provider (heap after garbage collection, ${memory.providers - 1} providers built in a process of their own)`,
    measured: { value: memory.kibPerProvider, unit: 'KiB' },
  });
  if (buildTimes.length) {
    rows.push({
      scenario: 'tenants',
      path: `time to build one provider (${buildTimes.length} builds, logged by Tessera while every instance got its first requests)`,
      measured: { value: median(buildTimes), unit: 'ms', p50: median(buildTimes), p99: percentile(buildTimes, 99) },
    });
  }
  rows.push({
    scenario: 'tenants',
    path: 'first request to an instance (discovery, builds its provider)',
    measured: { value: median(firstRequest), unit: 'ms', p50: median(firstRequest), p99: percentile(firstRequest, 99) },
  });
  return {
    rows,
    details: [
      `Many tenants: ${of} created through the System API in ${formatSeconds(createSeconds)} (${round((createSeconds / n) * 1000)} ms each, 4 at a time), their machine users added with SQL in ${formatSeconds(seedSeconds)}, every provider built in ${formatSeconds(warmSeconds)}; provider cache size ${cacheSize}.`,
    ],
  };
};
