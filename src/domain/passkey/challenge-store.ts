import type { Scope } from '../../db/scope.js';
import type { Metrics } from '../../shared/metrics.js';
import { callRedis, type RedisClient } from '../../shared/redis.js';
import { redisKeyPrefix } from '../../shared/redis-keys.js';
import { ServiceUnavailable } from '../../shared/unavailable.js';
import { insertChallenge, takeChallenge, type ChallengeRow } from './repository.js';

/**
 * Where a passkey ceremony's challenge waits for the browser's answer (five minutes at most).
 * Every login page that offers passwordless sign-in starts a ceremony, so with Redis the
 * challenges live there, under a TTL and shared by every process: a sign-in page costs no
 * database write. Without Redis, and while it is unreachable, they go to PostgreSQL
 * (webauthn_challenges). Either way a challenge is taken out once, wherever it is.
 */
export interface ChallengeStore {
  put(scope: Scope, row: ChallengeRow): Promise<void>;
  /** the challenge, removed as it is read: a second take finds nothing */
  take(scope: Scope, id: string): Promise<ChallengeRow | undefined>;
}

export const databaseChallenges: ChallengeStore = { put: insertChallenge, take: takeChallenge };

export function redisChallenges(client: RedisClient, metrics?: Pick<Metrics, 'redisFallback'>): ChallengeStore {
  const key = (scope: Scope, id: string) => `${redisKeyPrefix.webauthn(scope.instanceId)}${id}`;
  const unlessDown = (err: unknown) => {
    if (!(err instanceof ServiceUnavailable)) throw err;
  };
  return {
    async put(scope, row) {
      try {
        const ttlMs = Math.max(1, row.expires_at.getTime() - Date.now());
        await callRedis(client, (r) => r.set(key(scope, row.id), JSON.stringify(row), 'PX', ttlMs));
      } catch (err) {
        unlessDown(err);
        metrics?.redisFallback('write');
        await insertChallenge(scope, row);
      }
    },
    async take(scope, id) {
      let raw: string | null = null;
      try {
        raw = await callRedis(client, (r) => r.getdel(key(scope, id)));
      } catch (err) {
        unlessDown(err);
      }
      if (raw) {
        const row = JSON.parse(raw) as ChallengeRow & { expires_at: string };
        return { ...row, expires_at: new Date(row.expires_at) };
      }
      // Not in Redis: it may have been written to PostgreSQL while Redis was unreachable.
      return takeChallenge(scope, id);
    },
  };
}
