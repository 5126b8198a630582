import type { Context, Next } from 'koa';

/**
 * Koa trusts X-Forwarded-* for every peer once `proxy` is on; this keeps that trust to the
 * configured proxy addresses by dropping the headers from anyone else.
 */
export function onlyTrustedProxies(trusted: string[]) {
  const allowed = new Set(trusted.flatMap((a) => [a, `::ffff:${a}`]));
  return async function stripUntrustedForwarding(ctx: Context, next: Next): Promise<void> {
    if (!allowed.has(ctx.req.socket.remoteAddress ?? '')) {
      for (const h of ['x-forwarded-host', 'x-forwarded-proto', 'x-forwarded-for', 'forwarded']) delete ctx.req.headers[h];
    }
    await next();
  };
}
