import type { LRUCache } from 'lru-cache';
import { growingLru } from '../shared/lru.js';
import type { Metrics } from '../shared/metrics.js';
import type { Scope } from '../db/scope.js';
import { orgSummary, projectSettings, type ProjectSettings } from './repository.js';

export type OrgSummary = { id: string; name: string; primaryDomain: string };

/** The org and project reads behind claims; the plain database reads, or a cache in front of them. */
export interface SettingsReads {
  orgSummary(orgId: string): Promise<OrgSummary | undefined>;
  projectSettings(projectId: string): Promise<ProjectSettings | undefined>;
}

export function directReads(scope: Scope): SettingsReads {
  return { orgSummary: (id) => orgSummary(scope, id), projectSettings: (id) => projectSettings(scope, id) };
}

/**
 * Org summaries (name, primary domain) and project settings, kept for the life of one provider.
 * Every change to them (org rename, primary domain, org state, project settings and state)
 * publishes a change notice, which drops the provider and this cache in every process. The TTL
 * only bounds staleness should a notice be lost or a write bypass the services. Users and their
 * role grants are not kept here: tokens read them fresh, userinfo through claims-cache.ts.
 */
export class SettingsCache implements SettingsReads {
  private readonly orgs = growingLru<string, Promise<OrgSummary | undefined>>(5000, { ttl: 60_000 });
  private readonly projects = growingLru<string, Promise<ProjectSettings | undefined>>(2000, { ttl: 60_000 });

  constructor(
    private readonly scope: Scope,
    private readonly metrics?: Metrics,
  ) {}

  orgSummary(orgId: string): Promise<OrgSummary | undefined> {
    return remember(this.orgs, orgId, () => orgSummary(this.scope, orgId), this.metrics);
  }

  projectSettings(projectId: string): Promise<ProjectSettings | undefined> {
    return remember(this.projects, projectId, () => projectSettings(this.scope, projectId), this.metrics);
  }
}

/** Shares one read per key; failures and misses are not kept (a row may appear later). */
function remember<T>(
  cache: LRUCache<string, Promise<T | undefined>>,
  key: string,
  read: () => Promise<T | undefined>,
  metrics?: Metrics,
): Promise<T | undefined> {
  let entry = cache.get(key);
  metrics?.cache('settings', entry !== undefined);
  if (!entry) {
    const p = read();
    entry = p;
    cache.set(key, p);
    p.then(
      (v) => {
        if (v === undefined && cache.get(key) === p) cache.delete(key);
      },
      () => {
        if (cache.get(key) === p) cache.delete(key);
      },
    );
  }
  return entry;
}
