import { readyOrFirstConnection, type RedisClient } from '../shared/redis.js';
import { loginThrottleLimiters, redisKeyPrefix } from '../shared/redis-keys.js';
import { RateLimiterMemory, RateLimiterRedis, type RateLimiterAbstract, type RateLimiterStoreAbstract } from 'rate-limiter-flexible';

/**
 * Failed-login throttling per account and per client address. It is consulted before any
 * password hashing, so a flood of wrong passwords costs a Redis round trip, not argon2 time.
 * Keys start with the instance id: one instance's (or org's) flood never counts against another.
 * With Redis the counters are shared by every process; without it they live in this process.
 */
export interface ThrottleLimits {
  /** failures per account within the window before it is refused */
  perAccount: number;
  /** failures per client address within the window */
  perAddress: number;
  windowS: number;
  /** how long a key stays refused once it hit its limit */
  blockS: number;
}

/** The same defaults as `login.throttle` in src/config/schema.ts, for a throttle built without configuration. */
export const defaultThrottleLimits: ThrottleLimits = { perAccount: 10, perAddress: 100, windowS: 15 * 60, blockS: 5 * 60 };

export interface AttemptKey {
  instanceId: string;
  /** the user id, or the typed login name when no user matched */
  account: string;
  address: string;
}

/** `accountClean`: the account had no failure counted when checked, so a success has nothing to clear. */
export type ThrottleVerdict = { allowed: true; accountClean: boolean } | { allowed: false; retryAfterS: number };

type Limiter = RateLimiterAbstract | RateLimiterStoreAbstract;

export class LoginThrottle {
  private readonly redis?: RedisClient;
  private readonly byAccount: Limiter;
  private readonly byAddress: Limiter;

  constructor(opts: { redis?: RedisClient; limits?: Partial<ThrottleLimits>; prefix?: string } = {}) {
    const l = { ...defaultThrottleLimits, ...opts.limits };
    const prefix = opts.prefix ?? redisKeyPrefix.loginThrottle;
    const make = (name: string, points: number): Limiter => {
      const common = { keyPrefix: `${prefix}:${name}`, points, duration: l.windowS, blockDuration: l.blockS };
      // Should Redis fail, this process keeps counting on its own rather than letting logins error out.
      // rejectIfRedisNotReady: while Redis is down, go straight to the insurance limiter instead of waiting.
      return this.redis
        ? new RateLimiterRedis({ ...common, storeClient: this.redis, rejectIfRedisNotReady: true, insuranceLimiter: new RateLimiterMemory(common) })
        : new RateLimiterMemory(common);
    };
    // The connection (src/shared/redis.ts) fails fast while Redis is unreachable; the insurance limiter then counts.
    this.redis = opts.redis;
    const [acct, addr] = loginThrottleLimiters;
    this.byAccount = make(acct, l.perAccount);
    this.byAddress = make(addr, l.perAddress);
  }

  private static keys(k: AttemptKey): { account: string; address: string } {
    return { account: `${k.instanceId}:${k.account.toLowerCase()}`, address: `${k.instanceId}:${k.address}` };
  }

  /**
   * A connection still making its first connection (at boot) is waited for a moment: the limiters
   * would otherwise count those failures in this process's insurance limiter, which a read from
   * Redis a moment later does not see. A connection that was up and is down goes to it at once.
   */
  private async storeReady(): Promise<void> {
    if (this.redis) await readyOrFirstConnection(this.redis);
  }

  /** Whether another attempt may be checked at all; reads only, consumes nothing. */
  async check(k: AttemptKey): Promise<ThrottleVerdict> {
    await this.storeReady();
    const keys = LoginThrottle.keys(k);
    const [acct, addr] = await Promise.all([this.byAccount.get(keys.account), this.byAddress.get(keys.address)]);
    const over = [
      [acct, this.byAccount.points],
      [addr, this.byAddress.points],
    ] as const;
    let retryAfterMs = 0;
    for (const [res, points] of over) {
      if (res && res.consumedPoints >= points) retryAfterMs = Math.max(retryAfterMs, res.msBeforeNext);
    }
    if (retryAfterMs > 0) return { allowed: false, retryAfterS: Math.max(1, Math.ceil(retryAfterMs / 1000)) };
    return { allowed: true, accountClean: !acct || acct.consumedPoints === 0 };
  }

  /** Counts one failed attempt against the account and the address. */
  async fail(k: AttemptKey): Promise<void> {
    await this.storeReady();
    const keys = LoginThrottle.keys(k);
    // consume() starts the block once the limit is crossed; its rejection then is expected, a store error is not.
    const count = (limiter: Limiter, key: string) =>
      limiter.consume(key).catch((e: unknown) => {
        if (e instanceof Error) throw e;
      });
    await Promise.all([count(this.byAccount, keys.account), count(this.byAddress, keys.address)]);
  }

  /** A successful login clears the account's count; the address keeps its own. */
  async succeed(k: AttemptKey): Promise<void> {
    await this.storeReady();
    await this.byAccount.delete(LoginThrottle.keys(k).account);
  }

  async close(): Promise<void> {
    // The connection belongs to the runtime, which closes it.
  }
}
