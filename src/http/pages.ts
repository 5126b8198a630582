import type { Context, Middleware, Next } from 'koa';

/**
 * Server-rendered page modules (login, and the console and account pages to come), mounted by the
 * composition root (src/app.ts) between the provider's context and its endpoints. A module owns
 * its path prefixes: a request under one is answered by that module alone (an unknown path there
 * is a plain 404, never the provider's), with the page security headers below.
 */
export interface PageModule {
  /** for logs and the reader */
  name: string;
  /** the paths it owns, e.g. ['/ui/login']; the first module (in mounting order) whose prefix matches answers */
  prefixes: string[];
  /** its routes (a @koa/router's .routes()) */
  routes: Middleware;
}

const isUnder = (path: string, prefix: string) => path === prefix || path.startsWith(prefix + '/');

export function mountPages(modules: PageModule[]): Middleware {
  return async function pages(ctx: Context, next: Next): Promise<void> {
    const owner = modules.find((m) => m.prefixes.some((p) => isUnder(ctx.path, p)));
    if (!owner) return next();
    await pageSecurityHeaders(ctx, async () => {
      await owner.routes(ctx, async () => undefined);
    });
  };
}

/**
 * Headers of every page: no framing (clickjacking), no inline script, nothing sniffed.
 * form-action is left out on purpose: Chromium applies it to the redirect that follows a form,
 * which is the way back to the application (and out to an external IdP). A route that sets its
 * own Content-Security-Policy (an uploaded SVG, sandboxed) keeps it.
 */
export async function pageSecurityHeaders(ctx: Context, next: Next): Promise<void> {
  await next();
  if (ctx.response.get('Content-Security-Policy')) return;
  ctx.set(
    'Content-Security-Policy',
    "default-src 'self'; script-src 'self'; object-src 'none'; base-uri 'none'; img-src 'self' data:; style-src 'self'; font-src 'self'; frame-ancestors 'none'",
  );
  ctx.set('X-Frame-Options', 'DENY');
  ctx.set('X-Content-Type-Options', 'nosniff');
  ctx.set('Referrer-Policy', 'no-referrer');
}
