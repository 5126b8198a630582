import { Cluster } from 'ioredis';
import type { RedisClient } from './redis.js';

/**
 * Every Redis key Tessera writes that belongs to one instance starts with one of these, so that
 * deleting an instance finds them all (instanceKeyPatterns). A new kind of per-instance key gets
 * its prefix here.
 */
export const redisKeyPrefix = {
  /** oidc-provider's short-lived models (src/oidc/redis-adapter.ts) */
  oidc: (instanceId: string) => `tessera:oidc:${instanceId}:`,
  /** the failed-login throttle (src/login/throttle.ts): rate-limiter-flexible adds `:{limiter}:{instanceId}:…` */
  loginThrottle: 'tessera:login',
  /** passkey ceremonies' challenges (src/domain/passkey/challenge-store.ts) */
  webauthn: (instanceId: string) => `tessera:webauthn:${instanceId}:`,
};

/** The throttle's limiters, each a key prefix of its own. */
export const loginThrottleLimiters = ['acct', 'addr'] as const;

const glob = (s: string) => s.replace(/[*?[\]\\]/g, '\\$&');

/** SCAN patterns matching every key of the instance. */
export function instanceKeyPatterns(instanceId: string): string[] {
  return [
    `${glob(redisKeyPrefix.oidc(instanceId))}*`,
    `${glob(redisKeyPrefix.webauthn(instanceId))}*`,
    ...loginThrottleLimiters.map((limiter) => `${glob(`${redisKeyPrefix.loginThrottle}:${limiter}:${instanceId}:`)}*`),
  ];
}

/**
 * Deletes every key of the instance: SCAN (never KEYS, which blocks Redis) on each master of a
 * cluster, or the one server, and UNLINK key by key (keys of one instance live in many slots).
 * Resolves to how many keys went.
 */
export async function deleteInstanceKeys(redis: RedisClient, instanceId: string): Promise<number> {
  const servers = redis instanceof Cluster ? redis.nodes('master') : [redis];
  let deleted = 0;
  for (const server of servers) {
    for (const match of instanceKeyPatterns(instanceId)) {
      for await (const batch of server.scanStream({ match, count: 1000 })) {
        const keys = batch as string[];
        if (keys.length === 0) continue;
        const pipeline = server.pipeline();
        for (const key of keys) pipeline.unlink(key);
        await pipeline.exec();
        deleted += keys.length;
      }
    }
  }
  return deleted;
}
