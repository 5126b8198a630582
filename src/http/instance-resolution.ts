import type { Context, Next } from 'koa';
import { LRUCache } from 'lru-cache';
import type { Knex } from 'knex';
import { findInstanceIdByDomain } from '../domain/instance/repository.js';
import type { ChangeBus } from '../shared/changes.js';
import { problem } from './errors.js';

declare module 'koa' {
  interface DefaultState {
    /** The instance this request belongs to, found by its host. */
    instanceId: string;
    /** The instance's own origin as the client sees it, e.g. https://auth.example.com */
    origin: string;
  }
}

/**
 * Finds the request's instance from its Host (X-Forwarded-Host only when the app trusts
 * proxies, see createApp). Lookups are cached per host; any instance change clears the cache.
 */
export function resolveInstance(knex: Knex, changes: ChangeBus) {
  const cache = new LRUCache<string, { id: string | null }>({ max: 10_000 });
  changes.subscribe(() => cache.clear());

  return async function instanceByHost(ctx: Context, next: Next): Promise<void> {
    const hostname = ctx.hostname.toLowerCase();
    let hit = cache.get(hostname);
    if (!hit) {
      hit = { id: (await findInstanceIdByDomain(knex, hostname)) ?? null };
      cache.set(hostname, hit);
    }
    if (!hit.id) {
      problem(ctx, 404, 'instance.not_found', `no instance is served at host ${hostname}`);
      return;
    }
    ctx.state.instanceId = hit.id;
    ctx.state.origin = `${ctx.protocol}://${ctx.host}`;
    await next();
  };
}
