import { readFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { paths } from '../shared/paths.js';
import { configSchema, type Config } from './schema.js';

export class ConfigError extends Error {}

type Json = Record<string, unknown>;

/** Environment variables and the config key each one sets. */
const envMap: Record<string, { key: string; list?: boolean }> = {
  PORT: { key: 'server.port' },
  HOST: { key: 'server.host' },
  TESSERA_TRUSTED_PROXIES: { key: 'server.trustedProxies', list: true },
  DATABASE_URL: { key: 'database.url' },
  TESSERA_DATABASE_PREPARED_STATEMENTS: { key: 'database.preparedStatements' },
  TESSERA_DATA_DIR: { key: 'dataDir' },
  REDIS_URL: { key: 'redis.url' },
  TESSERA_MASTER_KEY: { key: 'masterKey' },
  LOG_LEVEL: { key: 'log.level' },
  TESSERA_COOKIE_KEYS: { key: 'oidc.cookieKeys', list: true },
  TESSERA_INSTANCE_NAME: { key: 'firstInstance.name' },
  TESSERA_INSTANCE_DOMAINS: { key: 'firstInstance.domains', list: true },
  TESSERA_ORG_NAME: { key: 'firstInstance.orgName' },
  TESSERA_ADMIN_USERNAME: { key: 'firstInstance.admin.username' },
  TESSERA_ADMIN_EMAIL: { key: 'firstInstance.admin.email' },
  TESSERA_ADMIN_PASSWORD: { key: 'firstInstance.admin.password' },
  TESSERA_OUTBOUND_ALLOW_PRIVATE_NETWORKS: { key: 'outbound.allowPrivateNetworks' },
  TESSERA_OUTBOUND_ALLOWED_HOSTS: { key: 'outbound.allowedHosts', list: true },
};

function setPath(target: Json, dotted: string, value: unknown): void {
  const parts = dotted.split('.');
  let node = target;
  for (const part of parts.slice(0, -1)) {
    if (typeof node[part] !== 'object' || node[part] === null) node[part] = {};
    node = node[part] as Json;
  }
  node[parts[parts.length - 1]] = value;
}

function deepMerge(base: Json, over: Json): Json {
  const out: Json = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const b = out[k];
    out[k] = v && typeof v === 'object' && !Array.isArray(v) && b && typeof b === 'object' && !Array.isArray(b) ? deepMerge(b as Json, v as Json) : v;
  }
  return out;
}

function readYaml(file: string): Json {
  try {
    return (YAML.parse(readFileSync(file, 'utf8')) ?? {}) as Json;
  } catch (err) {
    throw new ConfigError(`config error: ${file}: ${(err as Error).message.split('\n')[0]}`);
  }
}

/**
 * Loads config/default.yaml, then the file named by TESSERA_CONFIG, then the environment.
 * A bad value throws a ConfigError whose message is one line naming the key.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, overrides: Json = {}): Config {
  let raw = readYaml(path.join(paths.config, 'default.yaml'));
  if (env.TESSERA_CONFIG) {
    if (!existsSync(env.TESSERA_CONFIG)) throw new ConfigError(`config error: TESSERA_CONFIG: file ${env.TESSERA_CONFIG} does not exist`);
    raw = deepMerge(raw, readYaml(env.TESSERA_CONFIG));
  }
  for (const [name, { key, list }] of Object.entries(envMap)) {
    const value = env[name];
    if (value === undefined) continue;
    setPath(
      raw,
      key,
      list
        ? value
            .split(',')
            .map((s) => s.trim())
            .filter(Boolean)
        : value,
    );
  }
  raw = deepMerge(raw, overrides);
  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const key = issue.path.join('.') || '(root)';
    const envName = Object.entries(envMap).find(([, m]) => m.key === key)?.[0];
    throw new ConfigError(`config error: ${key}${envName ? ` (${envName})` : ''}: ${issue.message}`);
  }
  return parsed.data;
}
