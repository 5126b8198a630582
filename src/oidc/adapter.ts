import type { Knex } from 'knex';
import { Scope } from '../db/scope.js';
import { noMetrics, type Metrics } from '../shared/metrics.js';
import type { RedisClient } from '../shared/redis.js';
import { CACHED_MODELS, cachedAdapter, type DurableCache } from './durable-cache.js';
import { RedisAdapter, ShortLivedAdapter } from './redis-adapter.js';
import { accessTokenAdapter, refreshTokenAdapter } from './refresh-rotation.js';

/**
 * Storage for oidc-provider's models, one adapter per (instance, model). Durable state
 * (sessions, grants, refresh tokens) lives in PostgreSQL; short-lived state lives in Redis
 * with TTLs when Redis is configured (falling back to PostgreSQL while it is unreachable,
 * src/oidc/redis-adapter.ts), else in PostgreSQL where a sweep removes expired rows.
 */
export type Payload = Record<string, unknown> & { grantId?: string; userCode?: string; uid?: string; consumed?: number };

export interface OidcAdapter {
  upsert(id: string, payload: Payload, expiresIn?: number): Promise<void>;
  find(id: string): Promise<Payload | undefined>;
  findByUserCode(userCode: string): Promise<Payload | undefined>;
  findByUid(uid: string): Promise<Payload | undefined>;
  consume(id: string): Promise<void>;
  destroy(id: string): Promise<void>;
  revokeByGrantId(grantId: string): Promise<void>;
}

/** Models whose loss would sign people out or break refresh: always PostgreSQL. */
const DURABLE = new Set(['Session', 'Grant', 'RefreshToken']);

export class PgAdapter implements OidcAdapter {
  private readonly scope: Scope;
  constructor(
    knex: Knex,
    instanceId: string,
    private readonly model: string,
  ) {
    this.scope = new Scope(knex, instanceId);
  }

  private rows() {
    return this.scope.table('oidc_payloads').where({ model: this.model });
  }

  async upsert(id: string, payload: Payload, expiresIn?: number): Promise<void> {
    await this.upsertReporting(id, payload, expiresIn);
  }

  /** Upserts; true when the row is new (xmax is 0 only on a tuple no update wrote: the durable cache needs no notice for it). */
  async upsertReporting(id: string, payload: Payload, expiresIn?: number): Promise<boolean> {
    const rows: { xmax: string | number }[] = await this.scope
      .insert('oidc_payloads', {
        model: this.model,
        id,
        payload: JSON.stringify(payload),
        grant_id: payload.grantId ?? null,
        user_code: payload.userCode ?? null,
        uid: payload.uid ?? null,
        expires_at: expiresIn ? new Date(Date.now() + expiresIn * 1000) : null,
      })
      .onConflict(['instance_id', 'model', 'id'])
      .merge(['payload', 'grant_id', 'user_code', 'uid', 'expires_at'])
      .returning('xmax');
    return String(rows[0]?.xmax) === '0';
  }

  private async first(where: Record<string, string>): Promise<Payload | undefined> {
    const row = await this.rows()
      .where(where)
      .andWhere((q) => q.whereNull('expires_at').orWhere('expires_at', '>', new Date()))
      .first('payload', 'consumed_at');
    if (!row) return undefined;
    return { ...row.payload, ...(row.consumed_at ? { consumed: Math.floor(new Date(row.consumed_at).getTime() / 1000) } : {}) };
  }

  find(id: string) {
    return this.first({ id });
  }
  findByUserCode(userCode: string) {
    return this.first({ user_code: userCode });
  }
  findByUid(uid: string) {
    return this.first({ uid });
  }

  /** The refresh token with what its reuse grace needs: when it was consumed, and whether its successor is still unused. */
  async findRefreshToken(id: string): Promise<{ payload: Payload; consumedAt?: Date; consumedAgeMs: number; successorUnused: boolean } | undefined> {
    const row = await this.scope
      .leftJoin(this.scope.table('oidc_payloads', 'p'), 'oidc_payloads as s', (j) => j.on('s.model', 'p.model').andOn('s.id', 'p.successor_id'))
      .where({ 'p.model': this.model, 'p.id': id })
      .andWhere((q) => q.whereNull('p.expires_at').orWhere('p.expires_at', '>', this.scope.expression('now()')))
      .first(
        'p.payload',
        'p.consumed_at',
        this.scope.expression('coalesce(extract(epoch from (now() - p.consumed_at)) * 1000, 0)::float8 as consumed_age_ms'),
        this.scope.expression('(s.id is not null and s.consumed_at is null and (s.expires_at is null or s.expires_at > now())) as successor_unused'),
      );
    if (!row) return undefined;
    return {
      payload: row.payload,
      consumedAt: row.consumed_at ?? undefined,
      consumedAgeMs: Number(row.consumed_age_ms),
      successorUnused: Boolean(row.successor_unused),
    };
  }

  async consume(id: string): Promise<void> {
    await this.consumeCounted(id);
  }

  /** Marks the row consumed (the first time only); the number of rows found. */
  async consumeCounted(id: string): Promise<number> {
    return this.rows()
      .where({ id })
      .update({ consumed_at: this.scope.expression('coalesce(consumed_at, now())') });
  }

  async destroy(id: string): Promise<void> {
    await this.destroyCounted(id);
  }

  async destroyCounted(id: string): Promise<number> {
    return this.rows().where({ id }).delete();
  }

  async revokeByGrantId(grantId: string): Promise<void> {
    await this.rows().where({ grant_id: grantId }).delete();
  }
}

/** Deletes expired rows of every instance; run periodically (the expiry index keeps it cheap). */
export async function sweepExpiredPayloads(knex: Knex, limit = 5000): Promise<number> {
  const result = await knex.raw(`DELETE FROM oidc_payloads WHERE ctid IN (SELECT ctid FROM oidc_payloads WHERE expires_at < now() LIMIT ?)`, [limit]);
  // The devices of sign-in sessions that are gone (a day's grace: a device row is written as its session is saved).
  await knex.raw(
    `DELETE FROM sign_in_devices d WHERE d.last_seen_at < now() - interval '1 day' AND NOT EXISTS ` +
      `(SELECT 1 FROM oidc_payloads p WHERE p.instance_id = d.instance_id AND p.uid = d.session_uid AND p.model = 'Session')`,
  );
  // Passkey challenges written to PostgreSQL (without Redis, or during an outage) that nobody answered.
  await knex.raw(`DELETE FROM webauthn_challenges WHERE expires_at < now()`);
  return result.rowCount ?? 0;
}

/**
 * The adapter factory handed to oidc-provider. Revoking by grant must reach both stores, since
 * a grant's refresh tokens are durable while its codes and access tokens may be in Redis.
 */
export interface AdapterOptions {
  knex: Knex;
  redis?: RedisClient;
  instanceId: string;
  clients: (id: string) => Promise<Payload | undefined>;
  durableCache?: DurableCache;
  /** the instance's refresh token reuse grace in seconds (src/oidc/refresh-rotation.ts) */
  refreshReuseGraceS: () => number;
  metrics?: Metrics;
}

export function adapterFactory(o: AdapterOptions) {
  const { knex, redis, instanceId } = o;
  const rotation = { knex, instanceId, graceS: o.refreshReuseGraceS, metrics: o.metrics ?? noMetrics };
  const plain = (model: string): OidcAdapter => {
    // Sessions and grants are read on every userinfo and introspection call: cached, with invalidation.
    if (o.durableCache && CACHED_MODELS.has(model)) return cachedAdapter(new PgAdapter(knex, instanceId, model), o.durableCache, instanceId, model);
    if (DURABLE.has(model) || !redis) return new PgAdapter(knex, instanceId, model);
    return new ShortLivedAdapter(new RedisAdapter(redis, instanceId, model), redis, new PgAdapter(knex, instanceId, model), rotation.metrics);
  };
  return (model: string): OidcAdapter => {
    if (model === 'Client') return clientAdapter(o.clients);
    if (model === 'RefreshToken') return refreshTokenAdapter(new PgAdapter(knex, instanceId, model), rotation);
    if (model === 'AccessToken') return accessTokenAdapter(plain(model), rotation);
    return plain(model);
  };
}

function clientAdapter(find: (id: string) => Promise<Payload | undefined>): OidcAdapter {
  const readOnly = async () => {
    throw new Error('clients are managed through the management API');
  };
  return {
    find,
    upsert: readOnly,
    consume: readOnly,
    destroy: readOnly,
    revokeByGrantId: readOnly,
    findByUid: async () => undefined,
    findByUserCode: async () => undefined,
  };
}
