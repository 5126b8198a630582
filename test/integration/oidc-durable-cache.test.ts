import { Redis } from 'ioredis';
import type { Runtime } from '../../src/runtime/index.js';
import { PgAdapter, type OidcAdapter } from '../../src/oidc/adapter.js';
import { cachedAdapter, DurableCache } from '../../src/oidc/durable-cache.js';
import { newId } from '../../src/shared/ids.js';
import { testInstance, testRuntime, type TestInstance } from '../support/runtime.js';
import { TEST_REDIS_URL } from '../support/env.js';
import { clockReaches, eventually } from '../support/eventually.js';

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
  for (const c of caches) {
    c.close();
    (c as unknown as { pub: Redis }).pub.disconnect();
  }
  await rt.close();
});

/** What no API shows, peeked for the waits below: whether a cache stores what it reads, and how many notices it has heard. */
const peek = (cache: DurableCache) => cache as unknown as { live: boolean; generation: number };

/** Waits until both subscriptions are live, so the caches store what they read. */
async function twoProcesses(model: string): Promise<{ a: OidcAdapter; b: OidcAdapter; cacheB: DurableCache }> {
  const [a, b] = [processCache(), processCache()];
  expect(
    await eventually(
      async () => peek(a).live && peek(b).live,
      (live) => live,
    ),
  ).toBe(true);
  return {
    a: cachedAdapter(new PgAdapter(rt.db.knex, inst.instanceId, model), a, inst.instanceId, model),
    b: cachedAdapter(new PgAdapter(rt.db.knex, inst.instanceId, model), b, inst.instanceId, model),
    cacheB: b,
  };
}

const rows = (model: string, id: string) => inst.scope.table('oidc_payloads').where({ model, id });
const exp = () => Math.floor(Date.now() / 1000) + 600;

test('a session read by uid in one process follows updates and the logout made in another', async () => {
  const { a, b, cacheB } = await twoProcesses('Session');
  const id = newId();
  const uid = `uid-${id}`;
  const heardBefore = peek(cacheB).generation;
  await a.upsert(id, { jti: id, uid, kind: 'Session', accountId: 'alice', exp: exp() }, 600);
  expect(await b.findByUid(uid)).toMatchObject({ accountId: 'alice' });
  // A read that overlaps a notice is not stored; once the write's own notice has reached b, it is.
  await eventually(
    async () => peek(cacheB).generation,
    (heard) => heard > heardBefore,
  );
  expect(await b.findByUid(uid)).toMatchObject({ accountId: 'alice' });

  // Cached: a row removed behind the adapters' back is still served (what makes invalidation necessary).
  const stored = await rows('Session', id).first();
  await rows('Session', id).delete();
  expect(await b.findByUid(uid)).toMatchObject({ accountId: 'alice' });
  await inst.scope.insert('oidc_payloads', stored);

  await a.upsert(id, { jti: id, uid, kind: 'Session', accountId: 'bob', exp: exp() }, 600);
  expect(
    await eventually(
      () => b.findByUid(uid),
      (p) => p?.accountId === 'bob',
    ),
  ).toMatchObject({ accountId: 'bob' });

  await a.destroy(id);
  expect(
    await eventually(
      () => b.findByUid(uid),
      (p) => p === undefined,
    ),
  ).toBeUndefined();
  expect(await b.find(id)).toBeUndefined();
});

test('a grant revoked in one process is gone in another; expired payloads are never served', async () => {
  const { a, b } = await twoProcesses('Grant');
  const id = newId();
  await a.upsert(id, { jti: id, kind: 'Grant', accountId: 'alice', clientId: 'c', exp: exp() }, 600);
  expect(await b.find(id)).toMatchObject({ accountId: 'alice' });
  await a.revokeByGrantId(id);
  await a.destroy(id);
  expect(
    await eventually(
      () => b.find(id),
      (p) => p === undefined,
    ),
  ).toBeUndefined();

  const short = newId();
  const shortExpS = Math.floor(Date.now() / 1000) + 1;
  await a.upsert(short, { jti: short, kind: 'Grant', accountId: 'alice', clientId: 'c', exp: shortExpS }, 1);
  expect(await b.find(short)).toBeDefined();
  // An expiry is about time passing: wait until both the payload's exp and its row's expires_at
  // (a second from the write) have passed, no longer.
  const { expires_at } = await rows('Grant', short).first();
  await clockReaches(Math.max(shortExpS * 1000, expires_at.getTime()) + 1);
  expect(await b.find(short)).toBeUndefined();
});
