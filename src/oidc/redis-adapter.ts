import { Cluster } from 'ioredis';
import type { Metrics } from '../shared/metrics.js';
import { callRedis, type RedisClient } from '../shared/redis.js';
import { readWithFallback, writeWithFallback, type RedisWithFallback } from '../shared/redis-fallback.js';
import { redisKeyPrefix } from '../shared/redis-keys.js';
import { ServiceUnavailable } from '../shared/unavailable.js';
import type { OidcAdapter, Payload, PgAdapter } from './adapter.js';

/** Every model that carries a grantId, so revoking a grant can reach it. */
export const GRANT_BOUND = ['AccessToken', 'AuthorizationCode', 'RefreshToken', 'DeviceCode', 'BackchannelAuthenticationRequest'];

/** Models oidc-provider looks one token up as, at once (introspection, revocation): a token id is only ever one of them. */
const SIBLINGS: Record<string, string> = { AccessToken: 'ClientCredentials', ClientCredentials: 'AccessToken' };

/**
 * Short-lived provider state (interactions, codes, access tokens) in Redis, with TTLs.
 *
 * Keys fit Redis Cluster: the keys one command touches together share a hash tag, the token's
 * own id ({id}: the payload and its consumed marker), and nothing else is combined in one
 * command. A token bound to a grant is listed under the grant first and stored second, so a
 * token can never exist unlisted (revoking the grant would miss it); on a standalone Redis both
 * go in one round trip, in that order.
 */
export class RedisAdapter {
  private readonly prefix: string;
  constructor(
    private readonly redis: RedisClient,
    instanceId: string,
    private readonly model: string,
  ) {
    this.prefix = redisKeyPrefix.oidc(instanceId);
  }

  private key(id: string) {
    return `${this.prefix}${this.model}:{${id}}`;
  }
  private grantKey(grantId: string) {
    return `${this.prefix}grant:{${grantId}}`;
  }
  private lookupKey(kind: string, value: string) {
    return `${this.prefix}${kind}:{${value}}`;
  }

  async upsert(id: string, payload: Payload, expiresIn?: number): Promise<void> {
    const r = this.redis;
    const set = (key: string, value: string) => (expiresIn ? r.set(key, value, 'EX', expiresIn) : r.set(key, value));
    const before: Promise<unknown>[] = [];
    // Only tokens go with their grant: an Interaction carries a grantId too, but a revocation during
    // an account switch (logout of the old session) must not delete the login in progress.
    if (payload.grantId && GRANT_BOUND.includes(this.model)) {
      const grantKey = this.grantKey(payload.grantId);
      const multi = r.multi().rpush(grantKey, this.key(id));
      // The grant list must outlive every token in it.
      if (expiresIn) multi.expire(grantKey, expiresIn, 'GT').expire(grantKey, expiresIn, 'NX');
      before.push(multi.exec());
    }
    for (const [kind, value] of [
      ['userCode', payload.userCode],
      ['uid', payload.uid],
    ] as const) {
      if (value) before.push(set(this.lookupKey(kind, value), id));
    }
    // A standalone Redis runs one connection's commands in the order sent, so the payload can go
    // in the same round trip as its listing and still land after it. A cluster may route them to
    // different nodes: there the payload waits for the listing.
    if (r instanceof Cluster) await Promise.all(before);
    try {
      await Promise.all([...before, set(this.key(id), JSON.stringify(payload))]);
    } catch (err) {
      // A listing refused while the payload was stored: the token must not outlive that.
      await r.del(this.key(id)).catch(() => undefined);
      throw err;
    }
  }

  async find(id: string): Promise<Payload | undefined> {
    return (await this.findOrSibling(id)).payload;
  }

  /**
   * The payload, and on a miss whether the id is the sibling model's (an access token is looked
   * up as AccessToken and as ClientCredentials at once): then no other store can hold it under
   * this model. The same round trip; the keys share their hash tag, the id.
   */
  async findOrSibling(id: string): Promise<{ payload?: Payload; sibling: boolean }> {
    const sibling = SIBLINGS[this.model];
    const keys = [this.key(id), `${this.key(id)}:consumed`, ...(sibling ? [`${this.prefix}${sibling}:{${id}}`] : [])];
    const [raw, consumed, siblingRaw] = await this.redis.mget(...keys);
    if (!raw) return { sibling: Boolean(siblingRaw) };
    const payload = JSON.parse(raw) as Payload;
    return { payload: consumed ? { ...payload, consumed: Number(consumed) } : payload, sibling: false };
  }

  async idBy(kind: 'userCode' | 'uid', value: string): Promise<string | null> {
    return this.redis.get(this.lookupKey(kind, value));
  }

  /** Marks the payload consumed; false when Redis does not hold it. */
  async consume(id: string): Promise<boolean> {
    // A marker beside the payload, expiring with it; one script, so it is atomic.
    const ttl = (await this.redis.eval(
      `local t = redis.call('PTTL', KEYS[1])
       if t > 0 then redis.call('SET', KEYS[2], ARGV[1], 'PX', t) elseif t == -1 then redis.call('SET', KEYS[2], ARGV[1]) end
       return t`,
      2,
      this.key(id),
      `${this.key(id)}:consumed`,
      Math.floor(Date.now() / 1000),
    )) as number;
    return ttl !== -2;
  }

  async destroy(id: string): Promise<void> {
    await this.redis.del(this.key(id), `${this.key(id)}:consumed`);
  }

  async revokeByGrantId(grantId: string): Promise<void> {
    const grantKey = this.grantKey(grantId);
    const keys = await this.redis.lrange(grantKey, 0, -1);
    // One DEL per token: in a cluster the tokens live on different slots.
    await Promise.all(keys.map((k) => this.redis.del(k, `${k}:consumed`)));
    await this.redis.del(grantKey);
  }
}

/**
 * Short-lived state in Redis, falling back to PostgreSQL (the same rows embedded mode uses)
 * while Redis is unreachable: logins, codes and tokens keep working through an outage.
 * A miss in Redis is looked up in PostgreSQL too (it may have been written during an outage,
 * by any process). What only Redis holds cannot be read while it is down: that is a 503,
 * never "unknown token".
 */
export class ShortLivedAdapter implements OidcAdapter {
  private readonly fallback: RedisWithFallback;
  constructor(
    private readonly redis: RedisAdapter,
    private readonly client: RedisClient,
    private readonly pg: PgAdapter,
    metrics: Metrics,
  ) {
    this.fallback = { client, metrics };
  }

  private attempt<T>(run: () => Promise<T>): Promise<T> {
    return callRedis(this.client, run);
  }

  upsert(id: string, payload: Payload, expiresIn?: number): Promise<void> {
    return writeWithFallback(
      this.fallback,
      () => this.redis.upsert(id, payload, expiresIn),
      () => this.pg.upsert(id, payload, expiresIn),
    );
  }

  /** `fromRedis` answers undefined for a miss, or null for a miss PostgreSQL cannot make good (the id is another model's). */
  private read(fromRedis: () => Promise<Payload | undefined | null>, fromPg: () => Promise<Payload | undefined>): Promise<Payload | undefined> {
    return readWithFallback(this.fallback, fromRedis, fromPg);
  }

  find(id: string) {
    return this.read(
      // A user's access token is looked up as client_credentials too, and the other way round:
      // that miss needs no PostgreSQL read, Redis already knows the id for the other model.
      async () => {
        const { payload, sibling } = await this.redis.findOrSibling(id);
        return payload ?? (sibling ? null : undefined);
      },
      () => this.pg.find(id),
    );
  }

  findByUserCode(userCode: string) {
    return this.read(
      async () => {
        const id = await this.redis.idBy('userCode', userCode);
        return id ? this.redis.find(id) : undefined;
      },
      () => this.pg.findByUserCode(userCode),
    );
  }

  findByUid(uid: string) {
    return this.read(
      async () => {
        const id = await this.redis.idBy('uid', uid);
        return id ? this.redis.find(id) : undefined;
      },
      () => this.pg.findByUid(uid),
    );
  }

  async consume(id: string): Promise<void> {
    let down: ServiceUnavailable | undefined;
    try {
      if (await this.attempt(() => this.redis.consume(id))) return;
    } catch (err) {
      if (!(err instanceof ServiceUnavailable)) throw err;
      down = err;
    }
    const consumed = await this.pg.consumeCounted(id);
    if (down && consumed === 0) throw down;
  }

  async destroy(id: string): Promise<void> {
    const removed = await this.pg.destroyCounted(id);
    try {
      await this.attempt(() => this.redis.destroy(id));
    } catch (err) {
      if (!(err instanceof ServiceUnavailable) || removed === 0) throw err;
    }
  }

  async revokeByGrantId(grantId: string): Promise<void> {
    await this.pg.revokeByGrantId(grantId);
    // A revocation that cannot reach Redis did not happen: the caller hears 503 and may retry.
    await this.attempt(() => this.redis.revokeByGrantId(grantId));
  }
}
