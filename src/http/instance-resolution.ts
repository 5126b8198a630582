import type { Context, Next } from 'koa';
import { LRUCache } from 'lru-cache';
import type { Knex } from 'knex';
import { findInstanceIdByDomain } from '../domain/instance/repository.js';
import { ALL_INSTANCES, type ChangeBus } from '../shared/changes.js';
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
 * proxies, see createApp). Lookups are cached per Host header, misses included. A change notice of
 * an instance (created or deleted, a domain added or removed, in any process) drops that
 * instance's hosts and every miss (one may be its new domain); other instances' hosts stay, since
 * the busiest notices (settings, keys, machine users) come from writes that touch no domain.
 *
 * The origin, and so the issuer, is the Host normalised as a URL's origin is: the host in lower
 * case without a trailing dot, the scheme's default port (80, 443) dropped, any other port kept
 * (a server on a non-default port is reachable only there, so its issuer must say so). Instance
 * domains are stored without ports; the port plays no part in finding the instance.
 */
export function resolveInstance(knex: Knex, changes: ChangeBus) {
  // Keyed by the Host as sent (with the scheme): normalising it parses two URLs, which cost more
  // than the rest of this middleware; the same Host always normalises to the same origin.
  const cache = new LRUCache<string, { id: string | null; origin?: string; hostname: string }>({ max: 10_000 });
  // Counts notices: a lookup that was in flight when one arrived may have read the database
  // before the change committed, so its answer is used but not kept.
  let notices = 0;
  changes.subscribe((instanceId) => {
    notices++;
    if (instanceId === ALL_INSTANCES) return cache.clear();
    const gone = [...cache.entries()].filter(([, hit]) => hit.id === instanceId || hit.id === null);
    for (const [key] of gone) cache.delete(key);
  });

  return async function instanceByHost(ctx: Context, next: Next): Promise<void> {
    const key = `${ctx.protocol}://${ctx.host}`;
    let hit = cache.get(key);
    if (!hit) {
      const seen = notices;
      const origin = normalisedOrigin(ctx.protocol, ctx.host);
      const hostname = origin ? new URL(origin).hostname : '';
      hit = { id: hostname ? ((await findInstanceIdByDomain(knex, hostname)) ?? null) : null, origin, hostname };
      if (seen === notices) cache.set(key, hit);
    }
    const { origin, hostname } = hit;
    if (!hit.id || !origin) {
      problem(ctx, 404, 'instance.not_found', `no instance is served at host ${hostname || '(none)'}`);
      return;
    }
    ctx.state.instanceId = hit.id;
    ctx.state.origin = origin;
    await next();
  };
}

/** `protocol://host[:port]` as a URL normalises it, without a trailing dot; undefined for a Host that is no host. */
export function normalisedOrigin(protocol: string, host: string): string | undefined {
  try {
    const url = new URL(`${protocol}://${host}`);
    if (url.username || url.password || url.pathname !== '/' || url.search || url.hash) return undefined;
    url.hostname = url.hostname.replace(/\.$/, '');
    return url.hostname ? url.origin : undefined;
  } catch {
    return undefined;
  }
}
