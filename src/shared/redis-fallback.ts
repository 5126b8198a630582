import type { Metrics } from './metrics.js';
import { callRedis, type RedisClient } from './redis.js';
import { ServiceUnavailable } from './unavailable.js';

/**
 * Short-lived state kept in Redis, with PostgreSQL standing in while Redis cannot be reached: the
 * one rule for the OIDC adapter's short-lived models (src/oidc/redis-adapter.ts) and passkey
 * challenges (src/domain/passkey/challenge-store.ts).
 * - A write that cannot reach Redis goes to PostgreSQL (counted as a fallback).
 * - A read that misses in Redis looks in PostgreSQL: the value may have been written there during
 *   an outage, by any process.
 * - While Redis is down, what PostgreSQL does not hold may be in Redis: unavailable (503 with
 *   Retry-After), never unknown.
 */
export interface RedisWithFallback {
  client: RedisClient;
  metrics: Pick<Metrics, 'redisFallback'>;
}

export async function writeWithFallback(on: RedisWithFallback, toRedis: () => Promise<unknown>, toDatabase: () => Promise<unknown>): Promise<void> {
  try {
    await callRedis(on.client, toRedis);
  } catch (err) {
    if (!(err instanceof ServiceUnavailable)) throw err;
    on.metrics.redisFallback('write');
    await toDatabase();
  }
}

/** `fromRedis` answers undefined for a miss, or null for a miss PostgreSQL cannot make good (Redis knows the answer is no). */
export async function readWithFallback<T>(
  on: RedisWithFallback,
  fromRedis: () => Promise<T | undefined | null>,
  fromDatabase: () => Promise<T | undefined>,
): Promise<T | undefined> {
  let down: ServiceUnavailable | undefined;
  try {
    const found = await callRedis(on.client, fromRedis);
    if (found) return found;
    if (found === null) return undefined;
  } catch (err) {
    if (!(err instanceof ServiceUnavailable)) throw err;
    down = err;
  }
  const found = await fromDatabase();
  if (down) {
    if (!found) throw down;
    on.metrics.redisFallback('read');
  }
  return found;
}
