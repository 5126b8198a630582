import { LRUCache } from 'lru-cache';
import pg from 'pg';
import type { Logger } from 'pino';
import type { Metrics } from '../shared/metrics.js';
import { withoutSecrets } from '../domain/user/without-secrets.js';
import type { AccountReads } from './repository.js';

/**
 * What userinfo's claims are built from (the user and their active role grants on the client's
 * projects), kept per process so the hottest endpoints need no database round trip.
 *
 * Invalidation comes from PostgreSQL itself: triggers on every table the claims are read from
 * (migrations/006_claims_notify.ts) send a notice on commit, whichever code path wrote, and a
 * dedicated LISTEN connection of this process drops what the notice names (one user, or the
 * whole instance). So a removed grant stops appearing in userinfo as soon as the notice is
 * delivered, milliseconds after the commit, in every process.
 *
 * Races and gaps: a read that started before a notice is not stored (a generation counter);
 * nothing is stored while the LISTEN connection is down, and everything is dropped when it
 * (re)connects, since notices sent meanwhile are lost. Entries also expire with the earliest
 * expiry among their grants (an expired grant drops out without any write) and after TTL_MS.
 * Without a PostgreSQL URL (embedded mode) the cache stays off and every read goes through.
 * client_credentials tokens read their machine user's roles through it too (a service asks for
 * the same token over and over); users' ID and access tokens never do: they are always built
 * from a fresh read. The API keeps its callers here too (`caller`: a token's user, their org's
 * state, their memberships; migrations/013_caller_notify.ts adds the notices it needs), and
 * awaits `sync` after each write so the writer sees its own change on its next call.
 */

const CHANNEL = 'tessera_claims';
const TTL_MS = 60_000;
const RECONNECT_MS = 1_000;
/** A sync notice's payload: a prefix no instance id has, and a number unique in the process (another process's never match). */
const SYNC = `!sync ${process.pid}-${Math.random().toString(36).slice(2)} `;
const SYNC_TIMEOUT_MS = 2_000;
/** How the LISTEN connection shows in pg_stat_activity. */
export const LISTENER_NAME = 'tessera claims listener';

interface Cached {
  value: unknown;
  expiresAt: number;
}
interface UserEntry {
  instanceGeneration: number;
  byProjects: Map<string, Cached>;
}

export class ClaimsCache {
  private readonly entries = new LRUCache<string, UserEntry>({ max: 20_000 });
  /** Bumped per instance by an instance-wide notice: older entries of that instance no longer count. */
  private readonly instanceGenerations = new Map<string, number>();
  /** Bumped by every notice: a read that started before one is not stored. */
  private generation = 0;
  private live = false;
  private client?: pg.Client;
  private closed = false;
  private retry?: NodeJS.Timeout;
  private syncSeq = 0;
  private readonly syncWaiters = new Map<string, () => void>();

  constructor(
    private readonly databaseUrl: string | undefined,
    private readonly log?: Logger,
    private readonly metrics?: Metrics,
  ) {
    if (databaseUrl) void this.listen();
  }

  private async listen(): Promise<void> {
    const client = new pg.Client({ connectionString: this.databaseUrl, application_name: LISTENER_NAME });
    this.client = client;
    const lost = () => {
      if (this.client !== client) return;
      this.live = false;
      this.clear();
      this.client = undefined;
      client.end().catch(() => undefined);
      if (!this.closed) this.retry = setTimeout(() => void this.listen(), RECONNECT_MS);
    };
    client.on('error', (err) => {
      this.log?.warn({ err }, 'claims cache: LISTEN connection lost');
      lost();
    });
    client.on('end', lost);
    client.on('notification', (msg) => {
      if (msg.channel !== CHANNEL) return;
      const payload = msg.payload ?? '';
      if (payload.startsWith(SYNC)) this.synced(payload);
      else this.drop(payload);
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${CHANNEL}`);
      if (this.client !== client || this.closed) return;
      this.clear();
      this.live = true;
    } catch (err) {
      this.log?.warn({ err }, 'claims cache: cannot LISTEN, reading through');
      lost();
    }
  }

  /**
   * Resolves once this process has heard every notice of what committed before the call: a
   * notice of its own, sent after them, has come back (PostgreSQL delivers notices in commit
   * order). The API awaits it after each write, so the writer's next call sees its change at
   * once; every other process hears the same notices on its own connection, milliseconds later.
   * Not live: nothing is kept, nothing to wait for; a notice that never comes back gives up
   * after SYNC_TIMEOUT_MS.
   */
  async sync(): Promise<void> {
    const client = this.client;
    if (!this.live || !client) return;
    const id = `${SYNC}${++this.syncSeq}`;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => this.synced(id), SYNC_TIMEOUT_MS);
      this.syncWaiters.set(id, () => {
        clearTimeout(timer);
        resolve();
      });
      client.query('SELECT pg_notify($1, $2)', [CHANNEL, id]).catch(() => this.synced(id));
    });
  }

  private synced(id: string): void {
    const done = this.syncWaiters.get(id);
    this.syncWaiters.delete(id);
    done?.();
  }

  private drop(payload: string): void {
    this.generation++;
    const space = payload.indexOf(' ');
    if (space < 0) this.instanceGenerations.set(payload, (this.instanceGenerations.get(payload) ?? 0) + 1);
    else this.entries.delete(payload);
  }

  private clear(): void {
    this.generation++;
    this.entries.clear();
    this.instanceGenerations.clear();
  }

  /** The user and grants for these projects: from the cache when it holds them, else from load(). */
  read(instanceId: string, userId: string, projectIds: string[], load: () => Promise<AccountReads>): Promise<AccountReads> {
    // Misses are not stored: the user may be created a moment later.
    return this.cached(instanceId, userId, `claims ${[...projectIds].sort().join(' ')}`, load, (value) =>
      value.user ? { ...value, user: withoutSecrets(value.user) } : undefined,
    );
  }

  /**
   * Whether a user passes a project's checks (domain/access/client-use.ts): kept like the claims,
   * since it is read from the same tables (user grants, projects, project grants), until a
   * notice or the earliest expiry of the grants it rests on.
   */
  remember<T extends { validUntil?: number }>(instanceId: string, userId: string, key: string, load: () => Promise<T>): Promise<T> {
    return this.cached(instanceId, userId, `check ${key}`, load, (value) => value);
  }

  /**
   * What the API knows of a caller (src/api/caller-cache.ts): under `key`, a user id (their row,
   * org state and memberships) or a personal access token's hash (migrations/013_caller_notify.ts
   * names tokens by it), kept until a notice names that key or its instance, the value's
   * validUntil, or TTL_MS. An undefined value (an unknown token) is never kept.
   */
  caller<T extends object>(instanceId: string, key: string, slot: string, load: () => Promise<T | undefined>): Promise<T | undefined> {
    type Kept = (T & { validUntil?: number }) | undefined;
    return this.cached<Kept>(instanceId, key, `caller ${slot}`, load as () => Promise<Kept>, (value) => value);
  }

  /** `slot`'s value for the user: from the cache, or load()ed and stored as `keep` makes it (undefined: not stored). */
  private async cached<T extends { validUntil?: number } | undefined>(
    instanceId: string,
    userId: string,
    slot: string,
    load: () => Promise<T>,
    keep: (value: T) => T | undefined,
  ): Promise<T> {
    if (!this.live) return load();
    const key = `${instanceId} ${userId}`;
    const instanceGeneration = this.instanceGenerations.get(instanceId) ?? 0;
    const entry = this.entries.get(key);
    const hit = entry?.instanceGeneration === instanceGeneration ? entry.byProjects.get(slot) : undefined;
    const usable = hit !== undefined && hit.expiresAt > Date.now();
    this.metrics?.cache(slot.startsWith('claims') ? 'claims' : slot.startsWith('caller') ? 'caller' : 'client_use', usable);
    if (usable) return hit.value as T;

    const before = this.generation;
    const value = await load();
    const kept = keep(value);
    if (kept !== undefined && this.live && before === this.generation) {
      const fresh = entry?.instanceGeneration === instanceGeneration ? entry : { instanceGeneration, byProjects: new Map<string, Cached>() };
      fresh.byProjects.set(slot, { value: kept, expiresAt: Math.min(Date.now() + TTL_MS, value?.validUntil ?? Infinity) });
      this.entries.set(key, fresh);
    }
    return value;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.live = false;
    if (this.retry) clearTimeout(this.retry);
    const client = this.client;
    this.client = undefined;
    this.clear();
    for (const id of [...this.syncWaiters.keys()]) this.synced(id);
    await client?.end().catch(() => undefined);
  }
}
