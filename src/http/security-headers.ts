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
type HeaderChange = [name: string, value: string | string[] | undefined];

/**
 * What a helmet middleware does to a response, recorded once: its headers are the same for every
 * request (no nonces), so each response gets them as a list of setHeader calls, not a helmet run.
 */
function recorded(m: NodeMiddleware): HeaderChange[] {
  const changes: HeaderChange[] = [];
  const res = {
    setHeader: (name: string, value: string | string[]) => changes.push([name, value]),
    removeHeader: (name: string) => changes.push([name, undefined]),
  };
  let done = false;
  m({ headers: {} } as IncomingMessage, res as unknown as ServerResponse, (err) => {
    if (err) throw err;
    done = true;
  });
  if (!done) throw new Error('helmet answered asynchronously');
  return changes;
}

function apply(changes: HeaderChange[], res: ServerResponse): void {
  for (const [name, value] of changes) {
    if (value === undefined) res.removeHeader(name);
    else res.setHeader(name, value);
  }
}

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
  const base = recorded(
    helmet({
      contentSecurityPolicy: { useDefaults: false, directives: PAGE_POLICY },
      crossOriginOpenerPolicy: false,
      crossOriginResourcePolicy: false,
      strictTransportSecurity: false,
      xFrameOptions: { action: 'deny' },
      referrerPolicy: { policy: 'no-referrer' },
    }) as NodeMiddleware,
  );
  const hsts = recorded(strictTransportSecurity({ maxAge: 31536000, includeSubDomains: false }) as NodeMiddleware);
  return async function securityHeadersOnEveryResponse(ctx: Context, next: Next): Promise<void> {
    apply(base, ctx.res);
    if (ctx.protocol === 'https') apply(hsts, ctx.res);
    await next();
  };
}
