import type { IncomingMessage, ServerResponse } from 'node:http';
import helmet, { strictTransportSecurity } from 'helmet';
import type { Context, Middleware, Next } from 'koa';

/**
 * The page policy: no framing (clickjacking), scripts of the page's own origin only (never
 * inline), nothing from elsewhere. form-action is left out on purpose: Chromium applies it to the
 * redirect that follows a form, which is the way back to the application (and out to an external
 * IdP). oidc-provider's form_post page adds its one script's hash to script-src itself.
 */
const PAGE_POLICY = {
  'default-src': ["'self'"],
  'script-src': ["'self'"],
  'object-src': ["'none'"],
  'base-uri': ["'none'"],
  'img-src': ["'self'", 'data:'],
  'style-src': ["'self'"],
  'font-src': ["'self'"],
  'frame-ancestors': ["'none'"],
};

type NodeMiddleware = (req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void) => void;

const run = (m: NodeMiddleware, ctx: Context) => new Promise<void>((resolve, reject) => m(ctx.req, ctx.res, (err) => (err ? reject(err) : resolve())));

/**
 * Every response's security headers, set before anything answers so that every page (the login,
 * oidc-provider's own pages such as the sign-out confirmation and its error page, the console,
 * the account page) and every JSON answer carries them: the page policy above, X-Frame-Options
 * DENY, nosniff, Referrer-Policy no-referrer; HSTS when the request came over https (directly or
 * through a trusted proxy). A part that needs a different policy (the console's form-action, a
 * sandboxed SVG) sets its own header, which replaces this one.
 *
 * Left out of helmet's defaults: Cross-Origin-Opener-Policy (relying parties may open the login
 * in a popup and read the result) and Cross-Origin-Resource-Policy (logos are shown by mail
 * clients and other sites).
 */
export function securityHeaders(): Middleware {
  const base = helmet({
    contentSecurityPolicy: { useDefaults: false, directives: PAGE_POLICY },
    crossOriginOpenerPolicy: false,
    crossOriginResourcePolicy: false,
    strictTransportSecurity: false,
    xFrameOptions: { action: 'deny' },
    referrerPolicy: { policy: 'no-referrer' },
  }) as NodeMiddleware;
  const hsts = strictTransportSecurity({ maxAge: 31536000, includeSubDomains: false }) as NodeMiddleware;
  return async function securityHeadersOnEveryResponse(ctx: Context, next: Next): Promise<void> {
    await run(base, ctx);
    if (ctx.protocol === 'https') await run(hsts, ctx);
    await next();
  };
}
