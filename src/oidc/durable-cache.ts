import { LRUCache } from 'lru-cache';
import type { Logger } from 'pino';
import { callRedis, type RedisClient } from '../shared/redis.js';
import type { OidcAdapter, Payload, PgAdapter } from './adapter.js';

/**
 * A read cache in front of the durable models read on every userinfo and introspection call
 * (Session, Grant), which live in PostgreSQL. Every write (upsert, destroy, revoke by grant)
 * goes to PostgreSQL first, then tells every process to drop the key, through Redis pub/sub on
 * a channel of its own (a session write is far too frequent for the instance change notice).
 *
 * Races: a read that started before an invalidation is not stored (a generation counter),
 * and an entry stored before one is dropped by it. What a process may serve stale is bounded by
 * the notice's delivery (milliseconds) and, should a notice be lost while the subscriber
 * reconnects, by the TTL; a reconnect also clears the whole cache.
 */

const CHANNEL = 'tessera:oidc-durable-changed';
export const CACHED_MODELS = new Set(['Session', 'Grant']);
const TTL_MS = 30_000;

export class DurableCache {
  /** key → the payload as JSON (parsed on each hit: oidc-provider mutates what it loads). */
  private readonly entries = new LRUCache<string, string>({ max: 20_000, ttl: TTL_MS });
  /** Session id → the uid key its cached copy is also stored under. */
  private readonly uidKeys = new LRUCache<string, string>({ max: 20_000, ttl: TTL_MS });
  private generation = 0;
  /** Entries are stored only while the subscription is live (without Redis: one process, always). */
  private live: boolean;

  constructor(
    private readonly pub?: RedisClient,
    private readonly sub?: RedisClient,
    private readonly log?: Logger,
  ) {
    this.live = !sub;
    if (sub) {
      sub.on('message', (_channel: string, key: string) => this.drop(key));
      // Anything published while disconnected is lost: stop storing, and forget everything on every (re)connect.
      sub.on('close', () => {
        this.live = false;
        this.clear();
      });
      sub.on('ready', () => {
        this.clear();
        sub.subscribe(CHANNEL).then(
          () => {
            this.clear();
            this.live = true;
          },
          () => undefined,
        );
      });
    }
  }

  private drop(key: string): void {
    this.generation++;
    this.entries.delete(key);
    const uidKey = this.uidKeys.get(key);
    if (uidKey) {
      this.entries.delete(uidKey);
      this.uidKeys.delete(key);
    }
  }

  /** Drops every entry of one instance, here only (each process hears the instance change notice itself). */
  dropInstance(instanceId: string): void {
    this.generation++;
    const prefix = `${instanceId}:`;
    for (const key of [...this.entries.keys()]) if (key.startsWith(prefix)) this.entries.delete(key);
  }

  clear(): void {
    this.generation++;
    this.entries.clear();
    this.uidKeys.clear();
  }

  /** Where the notices stand: a write passes it to `storeWritten`. */
  get heard(): number {
    return this.generation;
  }

  /**
   * Keeps a row this process has just inserted, as a read would (the token request that follows a
   * sign-in reads the session and grant back). Not when any notice arrived since `before`, the
   * generation taken before the write: an update by another process may have followed it.
   */
  storeWritten(key: string, payload: Payload, before: number, alsoKey?: string): void {
    if (!this.live || before !== this.generation) return;
    this.entries.set(key, JSON.stringify(payload));
    if (alsoKey) {
      this.entries.set(alsoKey, JSON.stringify(payload));
      this.uidKeys.set(key, alsoKey);
    }
  }

  /**
   * Drops the key here at once and in every other process through Redis. The write it follows
   * has committed: should Redis be unreachable, the others' subscribers are cut off too and
   * store nothing until they reconnect (then they start empty), so the notice is not needed.
   */
  async invalidate(key: string): Promise<void> {
    this.drop(key);
    if (!this.pub) return;
    await callRedis(this.pub, (r) => r.publish(CHANNEL, key)).catch((err: unknown) => {
      this.log?.debug({ err }, 'durable cache: invalidation not published');
    });
  }

  async read(key: string, load: () => Promise<Payload | undefined>, alsoKey?: (p: Payload) => string | undefined): Promise<Payload | undefined> {
    const hit = this.entries.get(key);
    if (hit !== undefined) {
      const payload = JSON.parse(hit) as Payload;
      // The row's own expiry still applies (PostgreSQL filters it on read).
      if (typeof payload.exp === 'number' && payload.exp * 1000 <= Date.now()) return undefined;
      return payload;
    }
    const before = this.generation;
    const payload = await load();
    // Misses are not cached: a session or grant may be written a moment later.
    if (payload && this.live && before === this.generation) {
      this.entries.set(key, JSON.stringify(payload));
      const other = alsoKey?.(payload);
      if (other) this.uidKeys.set(other, key);
    }
    return payload;
  }

  close(): void {
    this.clear();
    this.sub?.disconnect();
  }
}

/** Wraps the PostgreSQL adapter of a cached model; keys are per instance and model. */
export function cachedAdapter(inner: PgAdapter, cache: DurableCache, instanceId: string, model: string): OidcAdapter {
  const idKey = (id: string) => `${instanceId}:${model}:${id}`;
  const uidKey = (uid: string) => `${instanceId}:${model}:uid:${uid}`;
  return {
    async upsert(id, payload, expiresIn) {
      const before = cache.heard;
      const inserted = await inner.upsertReporting(id, payload, expiresIn);
      // A new row needs no notice: no process holds it, since misses are never stored (ids are
      // random and never reused; a session's new id under its old uid comes with the old id's
      // destroy, whose notice drops the uid entry). Two of a sign-in's Redis round trips; and
      // kept here as written, two of the token request's queries.
      if (inserted) cache.storeWritten(idKey(id), payload, before, typeof payload.uid === 'string' ? uidKey(payload.uid) : undefined);
      else await cache.invalidate(idKey(id));
    },
    find: (id) => cache.read(idKey(id), () => inner.find(id)),
    // Stored under the uid key; the id key maps to it, so a write by id drops both.
    findByUid: (uid) =>
      cache.read(
        uidKey(uid),
        () => inner.findByUid(uid),
        (p) => (typeof p.jti === 'string' ? idKey(p.jti) : undefined),
      ),
    findByUserCode: (code) => inner.findByUserCode(code),
    async consume(id) {
      await inner.consume(id);
      await cache.invalidate(idKey(id));
    },
    async destroy(id) {
      await inner.destroy(id);
      await cache.invalidate(idKey(id));
    },
    async revokeByGrantId(grantId) {
      await inner.revokeByGrantId(grantId);
      // Sessions and grants carry no grantId of their own; the grant itself is destroyed by id.
      if (model === 'Grant') await cache.invalidate(idKey(grantId));
    },
  };
}
