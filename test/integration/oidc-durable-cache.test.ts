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

/** The keys the durable cache's notices named, as a third process hears them. */
async function listen(): Promise<{ heard: string[]; sync: () => Promise<unknown>; close: () => void }> {
  const sub = new Redis(TEST_REDIS_URL);
  const heard: string[] = [];
  sub.on('message', (_channel: string, key: string) => heard.push(key));
  await sub.subscribe('tessera:oidc-durable-changed');
  // A PING's answer comes after every message published before it.
  return { heard, sync: () => sub.ping(), close: () => sub.disconnect() };
}

const rows = (model: string, id: string) => inst.scope.table('oidc_payloads').where({ model, id });
const exp = () => Math.floor(Date.now() / 1000) + 600;

test('a session read by uid in one process follows updates and the logout made in another', async () => {
  const { a, b, cacheB } = await twoProcesses('Session');
  const id = newId();
  const uid = `uid-${id}`;
  await a.upsert(id, { jti: id, uid, kind: 'Session', accountId: 'alice', exp: exp() }, 600);
  // A read that overlaps any notice is not stored (other runs share the channel): read until one is.
  expect(await b.findByUid(uid)).toMatchObject({ accountId: 'alice' });
  await eventually(
    async () => {
      const heard = peek(cacheB).generation;
      await b.findByUid(uid);
      return peek(cacheB).generation === heard;
    },
    (quiet) => quiet,
  );

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

test('a new row is announced to no one; an update of it is', async () => {
  const { a } = await twoProcesses('Grant');
  const ear = await listen();
  try {
    const id = newId();
    const mine = () => ear.heard.filter((k) => k.endsWith(`:Grant:${id}`));
    await a.upsert(id, { jti: id, kind: 'Grant', accountId: 'alice', clientId: 'c', exp: exp() }, 600);
    await a.upsert(id, { jti: id, kind: 'Grant', accountId: 'alice', clientId: 'c', scope: 'openid', exp: exp() }, 600);
    await ear.sync();
    expect(mine()).toHaveLength(1);
  } finally {
    ear.close();
  }
});

test('the process that inserted a session serves it by id and uid without reading; an update there drops it in the other', async () => {
  const { a, b } = await twoProcesses('Session');
  // A write that overlaps any notice is not kept (other runs share the channel): write until one is.
  const written = await eventually(
    async () => {
      const id = newId();
      const uid = `uid-${id}`;
      await a.upsert(id, { jti: id, uid, kind: 'Session', accountId: 'alice', exp: exp() }, 600);
      const stored = await rows('Session', id).first();
      // Removed behind the adapters' back: only the writer's copy can answer.
      await rows('Session', id).delete();
      return { id, uid, stored, byUid: await a.findByUid(uid), byId: await a.find(id) };
    },
    (w) => w.byUid !== undefined,
  );
  expect(written.byUid).toMatchObject({ accountId: 'alice' });
  expect(written.byId).toMatchObject({ accountId: 'alice' });
  const { id, uid } = written;
  expect(await b.findByUid(uid)).toBeUndefined();
  await inst.scope.insert('oidc_payloads', written.stored);
  expect(await b.findByUid(uid)).toMatchObject({ accountId: 'alice' });
  await b.upsert(id, { jti: id, uid, kind: 'Session', accountId: 'bob', exp: exp() }, 600);
  expect(
    await eventually(
      () => a.findByUid(uid),
      (p) => p?.accountId === 'bob',
    ),
  ).toMatchObject({ accountId: 'bob' });
});
