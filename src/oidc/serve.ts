import type { Context, Middleware, Next } from 'koa';
import { answerDiscovery } from './discovery-cache.js';
import { providerCookies } from './internals.js';
import type { ProviderPool } from './pool.js';
import type { InstanceProvider } from './provider.js';
import { prepareProviderRequest } from './requests.js';

declare module 'koa' {
  interface DefaultState {
    /** The provider of this request's instance and origin (set by providerContext). */
    oidc: InstanceProvider;
  }
}

/**
 * The OpenID Provider inside Tessera's Koa app, in two parts that the composition root
 * (src/app.ts) mounts around the page modules:
 * - providerContext: after instance resolution, each request gets the provider of its instance
 *   and origin (ctx.state.oidc), and ctx.cookies becomes the provider's jar, so the pages and the
 *   provider read the same signed cookies;
 * - providerEndpoints: last, the provider answers every path nothing before it took (unknown
 *   paths answer as OIDC errors).
 */
export function providerContext(pool: ProviderPool): Middleware {
  return async function openIdProviderContext(ctx: Context, next: Next): Promise<void> {
    const oidc = await pool.get(ctx.state.instanceId, ctx.state.origin);
    ctx.state.oidc = oidc;
    // Built lazily: token, userinfo and introspection requests never touch cookies.
    let jar: unknown;
    Object.defineProperty(ctx, 'cookies', {
      configurable: true,
      get: () => (jar ??= providerCookies(oidc.provider, ctx.req, ctx.res)),
      set: (value: unknown) => {
        jar = value;
      },
    });
    await next();
  };
}

export function providerEndpoints(): Middleware {
  return async function openIdProvider(ctx: Context): Promise<void> {
    const oidc = ctx.state.oidc;
    if (answerDiscovery(ctx, oidc.provider)) return;
    if (ctx.method === 'GET' && ctx.path === '/auth') askConsentForOfflineAccess(ctx);
    const req = await prepareProviderRequest(ctx, oidc);
    if (!req) return;
    ctx.respond = false;
    await oidc.handle(req, ctx.res);
  };
}

/**
 * oidc-provider drops offline_access unless prompt=consent is requested, while relying parties
 * written for ZITADEL just ask for the scope. Asking for consent on their behalf keeps the scope;
 * first-party apps pass the consent step without a page (src/oidc/grants.ts).
 */
function askConsentForOfflineAccess(ctx: Context): void {
  const url = new URL(ctx.req.url ?? '/', 'http://x');
  const scopes = (url.searchParams.get('scope') ?? '').split(' ');
  if (!scopes.includes('offline_access') || url.searchParams.has('prompt')) return;
  url.searchParams.set('prompt', 'consent');
  ctx.req.url = `${url.pathname}${url.search}`;
}
