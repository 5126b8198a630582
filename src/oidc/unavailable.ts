import { asUnavailable, RETRY_AFTER_S } from '../shared/unavailable.js';

/**
 * How the OpenID Provider answers while PostgreSQL or Redis cannot: 503 with Retry-After and
 * the spec's error shape, {"error":"temporarily_unavailable"} (RFC 6749 §4.1.2.1; the
 * authorization endpoint sends it to the client's redirect_uri when it can). Adapters throw
 * ServiceUnavailable, which oidc-provider renders as is; any other database failure (a read in
 * findAccount, say) surfaces as server_error and is turned into the same answer here.
 */
const UNAVAILABLE = Symbol('tessera.unavailable');

export const answerUnavailable = {
  install(provider: any): void {
    provider.on('server_error', (ctx: any, err: unknown) => {
      if (asUnavailable(err)) ctx[UNAVAILABLE] = true;
    });
    provider.use(async (ctx: any, next: () => Promise<void>) => {
      await next();
      if (ctx[UNAVAILABLE] && ctx.status === 500) {
        ctx.status = 503;
        if (ctx.body && typeof ctx.body === 'object' && (ctx.body as { error?: string }).error === 'server_error') {
          ctx.body = { error: 'temporarily_unavailable', error_description: 'a dependency is unreachable; retry in a moment' };
        }
      }
      if (ctx.status === 503) ctx.set('Retry-After', String(RETRY_AFTER_S));
    });
  },

  /** For renderError: an HTML error page for an unavailable dependency gets status 503. */
  renderedPage(ctx: any, _out: Record<string, string>, error: unknown): boolean {
    if (!asUnavailable(error)) return false;
    ctx.status = 503;
    ctx[UNAVAILABLE] = true;
    return true;
  },
};
