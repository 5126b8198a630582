import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { pino, type Logger } from 'pino';
import { ConfigError } from './config/load.js';
import { decodeKey, type Config } from './config/schema.js';
import { migrateLatest, openDatabase, type Database } from './db/database.js';
import type { ServiceDeps } from './domain/deps.js';
import { LocalChangeBus, type ChangeBus } from './shared/changes.js';
import { PasswordHasher, SecretBox } from './shared/crypto.js';
import { RedisChangeBus } from './shared/redis-changes.js';

/** Everything a running Tessera process holds: built once at boot, passed to the HTTP app and CLI. */
export interface Runtime {
  config: Config;
  db: Database;
  deps: ServiceDeps;
  log: Logger;
  close(): Promise<void>;
}

function resolveMasterKey(config: Config, embedded: boolean): Buffer {
  if (config.masterKey) return decodeKey(config.masterKey)!;
  if (!embedded) throw new ConfigError('config error: masterKey (TESSERA_MASTER_KEY): required when DATABASE_URL is set, so every process decrypts the same secrets');
  const file = path.resolve(config.dataDir, 'master.key');
  if (existsSync(file)) return decodeKey(readFileSync(file, 'utf8').trim())!;
  mkdirSync(config.dataDir, { recursive: true });
  const key = randomBytes(32);
  writeFileSync(file, key.toString('base64'), { mode: 0o600 });
  return key;
}

export async function createRuntime(config: Config, opts: { migrate?: boolean; log?: Logger } = {}): Promise<Runtime> {
  const log = opts.log ?? pino({ level: config.log.level, redact: ['*.password', '*.secret', '*.client_secret', 'req.headers.authorization', 'req.headers.cookie'] });
  const db = openDatabase({ url: config.database.url, dataDir: config.dataDir });
  const box = new SecretBox(resolveMasterKey(config, db.kind === 'embedded'));
  if (opts.migrate !== false) {
    const applied = await migrateLatest(db.knex);
    if (applied.length) log.info({ applied }, 'migrations applied');
  }
  const changes: ChangeBus = config.redis.url ? new RedisChangeBus(config.redis.url) : new LocalChangeBus();
  const deps: ServiceDeps = { config, hasher: new PasswordHasher(config.passwordHashing), box, changes };
  return {
    config, db, deps, log,
    async close() {
      await changes.close();
      await db.close();
    },
  };
}
