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
 * proxies, see createApp). Lookups are cached per host, misses included; every change notice
 * (an instance created or deleted, a domain added or removed, in any process) clears the cache.
 *
 * The origin, and so the issuer, is the Host normalised as a URL's origin is: the host in lower
 * case without a trailing dot, the scheme's default port (80, 443) dropped, any other port kept
 * (a server on a non-default port is reachable only there, so its issuer must say so). Instance
 * domains are stored without ports; the port plays no part in finding the instance.
 */
export function resolveInstance(knex: Knex, changes: ChangeBus) {
  const cache = new LRUCache<string, { id: string | null }>({ max: 10_000 });
  changes.subscribe(() => cache.clear());

  return async function instanceByHost(ctx: Context, next: Next): Promise<void> {
    const origin = normalisedOrigin(ctx.protocol, ctx.host);
    const hostname = origin ? new URL(origin).hostname : '';
    let hit = cache.get(hostname);
    if (!hit) {
      hit = { id: hostname ? ((await findInstanceIdByDomain(knex, hostname)) ?? null) : null };
      cache.set(hostname, hit);
    }
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
