import type { Context, Next } from 'koa';
import type { Runtime } from '../runtime.js';
import { loginRouter } from '../login/routes.js';
import { createLoginServices, loginSecurityHeaders } from '../login/services.js';
import { tenantLoginRouter } from '../login/tenant-routes.js';
import { uiAssetRoutes } from '../ui/assets.js';
import { ProviderPool } from './pool.js';
import { prepareProviderRequest } from './requests.js';

/**
 * The OpenID Provider and its login pages, mounted after instance resolution: each request
 * gets the provider of its instance and origin. Anything not taken by the routers mounted
 * before this one is the provider's (unknown paths answer as OIDC errors).
 */
export function mountOidc(rt: Runtime) {
  const pool = new ProviderPool({
    knex: rt.db.knex, box: rt.deps.box, hasher: rt.deps.hasher, config: rt.config, log: rt.log, metrics: rt.metrics, redisConnections: rt.redis,
  }, rt.deps.changes);
  // The pool holds a Redis connection and a sweep timer: release them with the runtime.
  const closeRuntime = rt.close.bind(rt);
  // The tenant-aware login's throttle (Redis) and mail transports are released the same way.
  const loginServices = createLoginServices(rt);
  rt.close = async () => { await pool.close(); await loginServices.close(); await closeRuntime(); };
  const login = loginRouter({ hasher: rt.deps.hasher }).routes();
  const tenantLogin = tenantLoginRouter(rt.db.knex).routes();
  const assets = uiAssetRoutes(rt.db.knex).routes();

  const middleware = async function openIdProvider(ctx: Context, next: Next): Promise<void> {
    const oidc = await pool.get(ctx.state.instanceId, ctx.state.origin);
    ctx.state.oidc = oidc;
    // Mounted inside another Koa app, the provider's cookies would come out unsigned: use its own jar (keys, signing).
    // Built lazily: token, userinfo and introspection requests never touch cookies.
    let jar: unknown;
    Object.defineProperty(ctx, 'cookies', {
      configurable: true,
      get: () => (jar ??= oidc.provider.createContext(ctx.req, ctx.res).cookies),
      set: (value: unknown) => { jar = value; },
    });
    if (ctx.path === '/ui/login' || ctx.path.startsWith('/ui/login/')) {
      ctx.state.login = loginServices;
      // The tenant-aware routes (MFA, registration, reset, IdPs, branding) first, then the first login's.
      await loginSecurityHeaders(ctx, () => assets(ctx as any, () => tenantLogin(ctx as any, () => login(ctx as any, next))));
      return;
    }
    if (ctx.method === 'GET' && ctx.path === '/auth') askConsentForOfflineAccess(ctx);
    const req = await prepareProviderRequest(ctx, oidc);
    if (!req) return;
    ctx.respond = false;
    await oidc.handle(req, ctx.res);
  };
  return Object.assign(middleware, { pool });
}

/**
 * oidc-provider drops offline_access unless prompt=consent is requested, while relying parties
 * written for ZITADEL just ask for the scope. Asking for consent on their behalf keeps the scope;
 * first-party apps pass the consent step without a page (src/login/flow.ts).
 */
function askConsentForOfflineAccess(ctx: Context): void {
  const url = new URL(ctx.req.url ?? '/', 'http://x');
  const scopes = (url.searchParams.get('scope') ?? '').split(' ');
  if (!scopes.includes('offline_access') || url.searchParams.has('prompt')) return;
  url.searchParams.set('prompt', 'consent');
  ctx.req.url = `${url.pathname}${url.search}`;
}
