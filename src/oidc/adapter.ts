import type { Knex } from 'knex';
import type { Redis } from 'ioredis';
import { Scope } from '../db/scope.js';
import { CACHED_MODELS, cachedAdapter, type DurableCache } from './durable-cache.js';

/**
 * Storage for oidc-provider's models, one adapter per (instance, model). Durable state
 * (sessions, grants, refresh tokens) lives in PostgreSQL; short-lived state lives in Redis
 * with TTLs when Redis is configured, else in PostgreSQL where a sweep removes expired rows.
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

/** Every model that carries a grantId, so revoking a grant can reach it. */
export const GRANT_BOUND = ['AccessToken', 'AuthorizationCode', 'RefreshToken', 'DeviceCode', 'BackchannelAuthenticationRequest'];

export class PgAdapter implements OidcAdapter {
  private readonly scope: Scope;
  constructor(knex: Knex, instanceId: string, private readonly model: string) {
    this.scope = new Scope(knex, instanceId);
  }

  private rows() {
    return this.scope.table('oidc_payloads').where({ model: this.model });
  }

  async upsert(id: string, payload: Payload, expiresIn?: number): Promise<void> {
    await this.scope.insert('oidc_payloads', {
      model: this.model, id, payload: JSON.stringify(payload),
      grant_id: payload.grantId ?? null, user_code: payload.userCode ?? null, uid: payload.uid ?? null,
      expires_at: expiresIn ? new Date(Date.now() + expiresIn * 1000) : null,
    }).onConflict(['instance_id', 'model', 'id']).merge(['payload', 'grant_id', 'user_code', 'uid', 'expires_at']);
  }

  private async first(where: Record<string, string>): Promise<Payload | undefined> {
    const row = await this.rows().where(where)
      .andWhere((q) => q.whereNull('expires_at').orWhere('expires_at', '>', new Date()))
      .first('payload', 'consumed_at');
    if (!row) return undefined;
    return { ...row.payload, ...(row.consumed_at ? { consumed: Math.floor(new Date(row.consumed_at).getTime() / 1000) } : {}) };
  }

  find(id: string) { return this.first({ id }); }
  findByUserCode(userCode: string) { return this.first({ user_code: userCode }); }
  findByUid(uid: string) { return this.first({ uid }); }

  async consume(id: string): Promise<void> {
    await this.rows().where({ id }).update({ consumed_at: new Date() });
  }

  async destroy(id: string): Promise<void> {
    await this.rows().where({ id }).delete();
  }

  async revokeByGrantId(grantId: string): Promise<void> {
    await this.rows().where({ grant_id: grantId }).delete();
  }
}

/** Deletes expired rows of every instance; run periodically (the expiry index keeps it cheap). */
export async function sweepExpiredPayloads(knex: Knex, limit = 5000): Promise<number> {
  const result = await knex.raw(
    `DELETE FROM oidc_payloads WHERE ctid IN (SELECT ctid FROM oidc_payloads WHERE expires_at < now() LIMIT ?)`, [limit],
  );
  return result.rowCount ?? 0;
}

export class RedisAdapter implements OidcAdapter {
  private readonly prefix: string;
  constructor(private readonly redis: Redis, instanceId: string, private readonly model: string) {
    this.prefix = `tessera:oidc:${instanceId}:`;
  }

  private key(id: string) { return `${this.prefix}${this.model}:${id}`; }
  private grantKey(grantId: string) { return `${this.prefix}grant:${grantId}`; }

  async upsert(id: string, payload: Payload, expiresIn?: number): Promise<void> {
    const key = this.key(id);
    const value = JSON.stringify(payload);
    const bound = Boolean(payload.grantId && GRANT_BOUND.includes(this.model));
    const lookups = ([['userCode', payload.userCode], ['uid', payload.uid]] as const).filter(([, v]) => v);
    // The common case (a client_credentials token: no grant, no lookups) is one plain SET, no MULTI.
    if (!bound && lookups.length === 0) {
      await (expiresIn ? this.redis.set(key, value, 'EX', expiresIn) : this.redis.set(key, value));
      return;
    }
    const multi = this.redis.multi();
    if (expiresIn) multi.set(key, value, 'EX', expiresIn);
    else multi.set(key, value);
    // Only tokens go with their grant: an Interaction carries a grantId too, but a revocation during
    // an account switch (logout of the old session) must not delete the login in progress.
    if (bound) {
      const grantKey = this.grantKey(payload.grantId!);
      multi.rpush(grantKey, key);
      // The grant list must outlive every token in it.
      if (expiresIn) multi.expire(grantKey, expiresIn, 'GT').expire(grantKey, expiresIn, 'NX');
    }
    for (const [kind, lookup] of lookups) {
      if (expiresIn) multi.set(`${this.prefix}${kind}:${lookup}`, id, 'EX', expiresIn);
      else multi.set(`${this.prefix}${kind}:${lookup}`, id);
    }
    await multi.exec();
  }

  async find(id: string): Promise<Payload | undefined> {
    const [raw, consumed] = await this.redis.mget(this.key(id), `${this.key(id)}:consumed`);
    if (!raw) return undefined;
    const payload = JSON.parse(raw) as Payload;
    return consumed ? { ...payload, consumed: Number(consumed) } : payload;
  }

  async findByUserCode(userCode: string) {
    const id = await this.redis.get(`${this.prefix}userCode:${userCode}`);
    return id ? this.find(id) : undefined;
  }

  async findByUid(uid: string) {
    const id = await this.redis.get(`${this.prefix}uid:${uid}`);
    return id ? this.find(id) : undefined;
  }

  async consume(id: string): Promise<void> {
    // A marker beside the payload, expiring with it; one script, so it is atomic.
    await this.redis.eval(
      `local t = redis.call('PTTL', KEYS[1])
       if t > 0 then redis.call('SET', KEYS[2], ARGV[1], 'PX', t) elseif t == -1 then redis.call('SET', KEYS[2], ARGV[1]) end
       return t`,
      2, this.key(id), `${this.key(id)}:consumed`, Math.floor(Date.now() / 1000),
    );
  }

  async destroy(id: string): Promise<void> {
    await this.redis.del(this.key(id), `${this.key(id)}:consumed`);
  }

  async revokeByGrantId(grantId: string): Promise<void> {
    const grantKey = this.grantKey(grantId);
    const keys = await this.redis.lrange(grantKey, 0, -1);
    await this.redis.del(...keys, ...keys.map((k) => `${k}:consumed`), grantKey);
  }
}

/**
 * The adapter factory handed to oidc-provider. Revoking by grant must reach both stores, since
 * a grant's refresh tokens are durable while its codes and access tokens may be in Redis.
 */
export function adapterFactory(
  knex: Knex, redis: Redis | undefined, instanceId: string, clients: (id: string) => Promise<Payload | undefined>, durableCache?: DurableCache,
) {
  return (model: string): OidcAdapter => {
    if (model === 'Client') return clientAdapter(clients);
    // Sessions and grants are read on every userinfo and introspection call: cached, with invalidation.
    if (durableCache && CACHED_MODELS.has(model)) return cachedAdapter(new PgAdapter(knex, instanceId, model), durableCache, instanceId, model);
    if (DURABLE.has(model) || !redis) return new PgAdapter(knex, instanceId, model);
    return new RedisAdapter(redis, instanceId, model);
  };
}

function clientAdapter(find: (id: string) => Promise<Payload | undefined>): OidcAdapter {
  const readOnly = async () => { throw new Error('clients are managed through the management API'); };
  return {
    find, upsert: readOnly, consume: readOnly, destroy: readOnly, revokeByGrantId: readOnly,
    findByUid: async () => undefined, findByUserCode: async () => undefined,
  };
}
