import type { Context, Middleware, Next } from 'koa';

/**
 * Server-rendered page modules (login, and the console and account pages to come), mounted by the
 * composition root (src/app.ts) between the provider's context and its endpoints. A module owns
 * its path prefixes: a request under one is answered by that module alone (an unknown path there
 * is a plain 404, never the provider's). The security headers are set for every response
 * (src/http/security-headers.ts); a module that needs another policy sets its own.
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
    await owner.routes(ctx, async () => undefined);
  };
}
