import type { Scope } from '../../db/scope.js';
import { noMetrics, type Metrics } from '../../shared/metrics.js';
import type { RedisClient } from '../../shared/redis.js';
import { readWithFallback, writeWithFallback } from '../../shared/redis-fallback.js';
import { redisKeyPrefix } from '../../shared/redis-keys.js';
import { insertChallenge, takeChallenge, type ChallengeRow } from './repository.js';

/**
 * Where a passkey ceremony's challenge waits for the browser's answer (five minutes at most).
 * Every login page that offers passwordless sign-in starts a ceremony, so with Redis the
 * challenges live there, under a TTL and shared by every process: a sign-in page costs no
 * database write. Without Redis, and while it is unreachable, they go to PostgreSQL
 * (webauthn_challenges). Either way a challenge is taken out once, wherever it is; while Redis
 * is down, one that PostgreSQL does not hold is unavailable (503), not unknown (redis-fallback.ts).
 */
export interface ChallengeStore {
  put(scope: Scope, row: ChallengeRow): Promise<void>;
  /** the challenge, removed as it is read: a second take finds nothing */
  take(scope: Scope, id: string): Promise<ChallengeRow | undefined>;
}

export const databaseChallenges: ChallengeStore = { put: insertChallenge, take: takeChallenge };

export function redisChallenges(client: RedisClient, metrics: Pick<Metrics, 'redisFallback'> = noMetrics): ChallengeStore {
  const key = (scope: Scope, id: string) => `${redisKeyPrefix.webauthn(scope.instanceId)}${id}`;
  const fallback = { client, metrics };
  return {
    put(scope, row) {
      const ttlMs = Math.max(1, row.expires_at.getTime() - Date.now());
      return writeWithFallback(
        fallback,
        () => client.set(key(scope, row.id), JSON.stringify(row), 'PX', ttlMs),
        () => insertChallenge(scope, row),
      );
    },
    take(scope, id) {
      return readWithFallback(
        fallback,
        async () => {
          const raw = await client.getdel(key(scope, id));
          if (!raw) return undefined;
          const row = JSON.parse(raw) as ChallengeRow & { expires_at: string };
          return { ...row, expires_at: new Date(row.expires_at) };
        },
        // Not in Redis: it may have been written to PostgreSQL while Redis was unreachable.
        () => takeChallenge(scope, id),
      );
    },
  };
}
