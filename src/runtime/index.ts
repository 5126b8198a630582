import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { setTimeout as delay } from 'node:timers/promises';
import type { Logger } from 'pino';
import { ConfigError } from '../config/load.js';
import { decodeKey, type Config } from '../config/schema.js';
import { migrateLatest, openDatabase, type Database } from '../db/database.js';
import type { ServiceDeps, ShortLivedState } from '../domain/deps.js';
import { Outbound } from '../shared/outbound.js';
import { LocalChangeBus, type ChangeBus } from '../shared/changes.js';
import { PasswordHasher, SecretBox } from '../shared/crypto.js';
import { RedisChangeBus } from '../shared/redis-changes.js';
import { redisConnections, type RedisClient, type RedisConnections } from '../shared/redis.js';
import { deleteInstanceKeys } from '../shared/redis-keys.js';
import { redisChallenges } from '../domain/passkey/challenge-store.js';
import { createLogger } from '../ops/logging.js';
import { PromMetrics } from '../ops/metrics.js';

/** Everything a running Tessera process holds: built once at boot, passed to the HTTP app and CLI. */
export interface Runtime {
  config: Config;
  db: Database;
  deps: ServiceDeps;
  log: Logger;
  /** every Redis connection comes from here (undefined without Redis) */
  redis?: RedisConnections;
  metrics: PromMetrics;
  close(): Promise<void>;
}

function resolveMasterKey(config: Config, embedded: boolean): Buffer {
  if (config.masterKey) return decodeKey(config.masterKey)!;
  if (!embedded)
    throw new ConfigError('config error: masterKey (TESSERA_MASTER_KEY): required when DATABASE_URL is set, so every process decrypts the same secrets');
  const file = path.resolve(config.dataDir, 'master.key');
  if (existsSync(file)) return decodeKey(readFileSync(file, 'utf8').trim())!;
  mkdirSync(config.dataDir, { recursive: true });
  const key = randomBytes(32);
  writeFileSync(file, key.toString('base64'), { mode: 0o600 });
  return key;
}

/** `waitForDataDir`: a server starting waits out an embedded data directory left locked by a killed process; the CLI does not. */
/** What Redis keeps per instance, forgotten with the instance (one connection, opened when first needed). */
function redisInstanceState(redis: RedisConnections, log: Logger): ShortLivedState {
  let client: RedisClient | undefined;
  return {
    async forgetInstance(instanceId) {
      client ??= redis.commands('instance-state');
      // A new connection refuses commands until it is ready (it queues nothing): give it a moment.
      if (client.status !== 'ready') await Promise.race([once(client, 'ready'), delay(5000, undefined, { ref: false })]).catch(() => undefined);
      // The instance is gone from the database already; keys left by a Redis outage expire with their TTLs.
      await deleteInstanceKeys(client, instanceId).then(
        (n) => log.info({ instanceId, keys: n }, 'instance state removed from redis'),
        (err: Error) => log.warn({ instanceId, err: { message: err.message } }, "could not remove the instance's redis keys; they expire with their TTLs"),
      );
    },
  };
}

export async function createRuntime(config: Config, opts: { migrate?: boolean; log?: Logger; waitForDataDir?: boolean } = {}): Promise<Runtime> {
  const log = opts.log ?? createLogger({ level: config.log.level, format: config.log.format === 'auto' ? undefined : config.log.format });
  const db = await openDatabase({
    url: config.database.url,
    dataDir: config.dataDir,
    waitForDataDir: opts.waitForDataDir,
    preparedStatements: config.database.preparedStatements,
  });
  const metrics = new PromMetrics();
  metrics.watchDatabase(db.knex);
  const box = new SecretBox(resolveMasterKey(config, db.kind === 'embedded'));
  if (opts.migrate !== false) {
    const applied = await migrateLatest(db.knex);
    if (applied.length) log.info({ applied }, 'migrations applied');
  }
  const redis = config.redis.url ? redisConnections(config.redis, log) : undefined;
  const changes: ChangeBus = redis ? await subscribedChangeBus(redis, log) : new LocalChangeBus();
  if (redis) metrics.watchRedis(() => redis.states());
  const deps: ServiceDeps = { config, hasher: new PasswordHasher(config.passwordHashing), box, changes, metrics, outbound: new Outbound(config.outbound) };
  if (redis) {
    deps.shortLivedState = redisInstanceState(redis, log);
    deps.challenges = redisChallenges(redis.commands('webauthn'), metrics);
  }
  return {
    config,
    db,
    deps,
    log,
    redis,
    metrics,
    async close() {
      await changes.close();
      redis?.close();
      await db.close();
    },
  };
}

const SUBSCRIBE_WAIT_MS = 5000;

/**
 * The cross-process change bus, once its subscription is live: a process that served before it
 * could cache what another process changes meanwhile and never hear of it. A Redis that does not
 * answer at start delays start-up by SUBSCRIBE_WAIT_MS only; the bus drops every cache once its
 * subscription comes live.
 */
async function subscribedChangeBus(redis: RedisConnections, log: Logger): Promise<RedisChangeBus> {
  const bus = new RedisChangeBus(redis.commands('changes'), redis.subscriber('changes'), log);
  let timer: NodeJS.Timeout | undefined;
  const live = await Promise.race([
    bus.whenReady().then(
      () => true,
      () => false,
    ),
    new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), SUBSCRIBE_WAIT_MS))),
  ]);
  clearTimeout(timer);
  if (!live) log.warn('change notices are not subscribed yet (Redis unreachable): caches are dropped once they are');
  return bus;
}
