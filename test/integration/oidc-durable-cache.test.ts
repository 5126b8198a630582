import { Redis } from 'ioredis';
import type { Runtime } from '../../src/runtime.js';
import { PgAdapter, type OidcAdapter } from '../../src/oidc/adapter.js';
import { cachedAdapter, DurableCache } from '../../src/oidc/durable-cache.js';
import { newId } from '../../src/shared/ids.js';
import { testInstance, testRuntime, type TestInstance } from '../support/runtime.js';
import { TEST_REDIS_URL } from '../support/env.js';
import { eventually } from '../support/eventually.js';

/**
 * Sessions and grants are cached per process in front of PostgreSQL. Two caches here stand for
 * two processes: a write through one must reach the other's reads at once (Redis pub/sub).
 */

let rt: Runtime;
let inst: TestInstance;
const caches: DurableCache[] = [];

function processCache(): DurableCache {
  const cache = new DurableCache(new Redis(TEST_REDIS_URL), new Redis(TEST_REDIS_URL));
  caches.push(cache);
  return cache;
}

beforeAll(async () => {
  rt = await testRuntime();
  inst = await testInstance(rt, 'Durable');
});
afterAll(async () => {
  for (const c of caches) { c.close(); (c as unknown as { pub: Redis }).pub.disconnect(); }
  await rt.close();
});

/** Waits until both subscriptions are live, so the caches store what they read. */
async function twoProcesses(model: string): Promise<[OidcAdapter, OidcAdapter]> {
  const [a, b] = [processCache(), processCache()];
  await new Promise((r) => setTimeout(r, 300));
  return [
    cachedAdapter(new PgAdapter(rt.db.knex, inst.instanceId, model), a, inst.instanceId, model),
    cachedAdapter(new PgAdapter(rt.db.knex, inst.instanceId, model), b, inst.instanceId, model),
  ];
}

const rows = (model: string, id: string) => inst.scope.table('oidc_payloads').where({ model, id });
const exp = () => Math.floor(Date.now() / 1000) + 600;

test('a session read by uid in one process follows updates and the logout made in another', async () => {
  const [a, b] = await twoProcesses('Session');
  const id = newId();
  const uid = `uid-${id}`;
  await a.upsert(id, { jti: id, uid, kind: 'Session', accountId: 'alice', exp: exp() }, 600);
  expect(await b.findByUid(uid)).toMatchObject({ accountId: 'alice' });
  // A read that overlaps a notice is not stored; once the write's own notice has passed, it is.
  await new Promise((r) => setTimeout(r, 100));
  expect(await b.findByUid(uid)).toMatchObject({ accountId: 'alice' });

  // Cached: a row removed behind the adapters' back is still served (what makes invalidation necessary).
  const stored = await rows('Session', id).first();
  await rows('Session', id).delete();
  expect(await b.findByUid(uid)).toMatchObject({ accountId: 'alice' });
  await inst.scope.insert('oidc_payloads', stored);

  await a.upsert(id, { jti: id, uid, kind: 'Session', accountId: 'bob', exp: exp() }, 600);
  expect(await eventually(() => b.findByUid(uid), (p) => p?.accountId === 'bob')).toMatchObject({ accountId: 'bob' });

  await a.destroy(id);
  expect(await eventually(() => b.findByUid(uid), (p) => p === undefined)).toBeUndefined();
  expect(await b.find(id)).toBeUndefined();
});

test('a grant revoked in one process is gone in another; expired payloads are never served', async () => {
  const [a, b] = await twoProcesses('Grant');
  const id = newId();
  await a.upsert(id, { jti: id, kind: 'Grant', accountId: 'alice', clientId: 'c', exp: exp() }, 600);
  expect(await b.find(id)).toMatchObject({ accountId: 'alice' });
  await a.revokeByGrantId(id);
  await a.destroy(id);
  expect(await eventually(() => b.find(id), (p) => p === undefined)).toBeUndefined();

  const short = newId();
  await a.upsert(short, { jti: short, kind: 'Grant', accountId: 'alice', clientId: 'c', exp: Math.floor(Date.now() / 1000) + 1 }, 1);
  expect(await b.find(short)).toBeDefined();
  await new Promise((r) => setTimeout(r, 1100));
  expect(await b.find(short)).toBeUndefined();
});
