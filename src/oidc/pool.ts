import { LRUCache } from 'lru-cache';
import { Scope } from '../db/scope.js';
import { getInstance } from '../domain/instance/repository.js';
import { ALL_INSTANCES, type ChangeBus } from '../shared/changes.js';
import type { RedisClient, RedisConnections } from '../shared/redis.js';
import { notFound } from '../shared/errors.js';
import { sweepExpiredPayloads } from './adapter.js';
import { ClaimsCache } from './claims-cache.js';
import { verifiedSecrets } from './clients.js';
import { DurableCache } from './durable-cache.js';
import { publishedSigningKeys } from './keys.js';
import { buildProvider, type InstanceProvider, type ProviderDeps } from './provider.js';

/**
 * The providers of all instances, built on first use and kept in a bounded LRU keyed by
 * instance and origin (the issuer is the origin a client sees). A change notice for an
 * instance, from this process or any other through the ChangeBus, drops its providers; the
 * next request builds a fresh one from the database, so settings, apps and keys apply at once.
 */
export class ProviderPool {
  private readonly cache: LRUCache<string, Promise<InstanceProvider>>;
  private readonly keysByInstance = new Map<string, Set<string>>();
  private readonly sweep?: NodeJS.Timeout;
  readonly redis?: RedisClient;
  readonly durableCache: DurableCache;
  /** also what the API keeps of its callers (src/domain/api-caller.ts) */
  readonly claimsCache: ClaimsCache;
  private readonly deps: ProviderDeps;

  constructor(base: Omit<ProviderDeps, 'redis'> & { redisConnections?: RedisConnections }, changes: ChangeBus, opts: { sweepEveryMs?: number } = {}) {
    const { redisConnections, ...providerBase } = base;
    this.redis = redisConnections?.commands('oidc');
    // One cache of sessions and grants per process, shared by all providers (keys carry the instance).
    this.durableCache = new DurableCache(this.redis, redisConnections?.subscriber('oidc-durable'), base.log);
    // Userinfo's user and roles, per process; needs PostgreSQL's LISTEN (off in embedded mode).
    this.claimsCache = new ClaimsCache(base.config.database.url || undefined, base.log, base.metrics);
    this.deps = { ...providerBase, redis: this.redis, durableCache: this.durableCache, claimsCache: this.claimsCache, verifiedSecrets: verifiedSecrets() };
    base.metrics?.watchProviderPool(() => this.cache.size);
    this.cache = new LRUCache({
      max: base.config.oidc.providerCacheSize,
      dispose: (_value, key) => this.untrack(key),
    });
    changes.subscribe((instanceId) => {
      this.invalidate(instanceId);
      // Sessions and grants ended outside oidc-provider (a manager ending a user's session) are announced this way.
      this.durableCache.dropInstance(instanceId);
    });
    // Expired rows in oidc_payloads (all models without Redis; durable ones always) are swept here.
    this.sweep = setInterval(
      () => {
        sweepExpiredPayloads(base.knex).catch((err) => base.log.warn({ err }, 'oidc payload sweep failed'));
      },
      opts.sweepEveryMs ?? 5 * 60_000,
    );
    this.sweep.unref();
  }

  get(instanceId: string, origin: string): Promise<InstanceProvider> {
    const key = `${instanceId}|${origin}`;
    let entry = this.cache.get(key);
    if (!entry) {
      entry = this.build(instanceId, origin);
      // A failed build must not stay cached.
      entry.catch(() => {
        if (this.cache.get(key) === entry) this.cache.delete(key);
      });
      this.cache.set(key, entry);
      let keys = this.keysByInstance.get(instanceId);
      if (!keys) this.keysByInstance.set(instanceId, (keys = new Set()));
      keys.add(key);
    }
    return entry;
  }

  invalidate(instanceId: string): void {
    if (instanceId === ALL_INSTANCES) {
      this.cache.clear();
      return;
    }
    for (const key of [...(this.keysByInstance.get(instanceId) ?? [])]) this.cache.delete(key);
    this.keysByInstance.delete(instanceId);
  }

  get size(): number {
    return this.cache.size;
  }

  private untrack(key: string): void {
    const instanceId = key.slice(0, key.indexOf('|'));
    const keys = this.keysByInstance.get(instanceId);
    keys?.delete(key);
    if (keys && keys.size === 0) this.keysByInstance.delete(instanceId);
  }

  private async build(instanceId: string, origin: string): Promise<InstanceProvider> {
    const started = performance.now();
    const scope = new Scope(this.deps.knex, instanceId);
    const [instance, keys] = await Promise.all([getInstance(scope), publishedSigningKeys(scope)]);
    if (!instance) throw notFound('instance', instanceId);
    try {
      const built = buildProvider(this.deps, instance, keys, origin);
      this.deps.metrics?.providerBuilt(true);
      // Builds should be rare (first use, change notices): many in a row mean the cache is too small.
      this.deps.log.debug({ instanceId, origin, ms: Math.round((performance.now() - started) * 100) / 100, cached: this.cache.size }, 'oidc provider built');
      return built;
    } catch (err) {
      this.deps.metrics?.providerBuilt(false);
      throw err;
    }
  }

  async close(): Promise<void> {
    if (this.sweep) clearInterval(this.sweep);
    this.cache.clear();
    this.durableCache.close();
    await this.claimsCache.close();
  }
}
