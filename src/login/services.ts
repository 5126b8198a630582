import type { Context, Next } from 'koa';
import type { Runtime } from '../runtime.js';
import type { ServiceDeps } from '../domain/deps.js';
import { Mailer } from '../mail/mailer.js';
import { MailTransports } from '../mail/transport.js';
import { LoginThrottle } from './throttle.js';

/**
 * What the tenant-aware login needs beyond the provider: the service dependencies, the
 * failed-login throttle and the mailer. Built once per app (src/oidc/mount.ts) and handed to
 * the login routes on ctx.state.login.
 */
export interface LoginServices {
  deps: ServiceDeps;
  throttle: LoginThrottle;
  mailer: Mailer;
  close(): Promise<void>;
}

declare module 'koa' {
  interface DefaultState {
    login: LoginServices;
  }
}

export function createLoginServices(rt: Runtime): LoginServices {
  const throttle = new LoginThrottle({ redis: rt.redis?.commands('throttle'), limits: rt.config.login.throttle });
  const transports = new MailTransports(rt.db.knex, rt.deps.box, rt.deps.changes);
  return {
    deps: rt.deps, throttle, mailer: new Mailer(transports, rt.metrics),
    async close() { transports.close(); await throttle.close(); },
  };
}

/**
 * Headers of every login page: no framing (clickjacking), no inline script, nothing sniffed.
 * form-action is left out on purpose: Chromium applies it to the redirect that follows a form,
 * which is the way back to the application (and out to an external IdP).
 */
export async function loginSecurityHeaders(ctx: Context, next: Next): Promise<void> {
  await next();
  if (ctx.response.get('Content-Security-Policy')) return;
  ctx.set('Content-Security-Policy', "default-src 'self'; script-src 'none'; object-src 'none'; base-uri 'none'; img-src 'self' data:; style-src 'self'; font-src 'self'; frame-ancestors 'none'");
  ctx.set('X-Frame-Options', 'DENY');
  ctx.set('X-Content-Type-Options', 'nosniff');
  ctx.set('Referrer-Policy', 'no-referrer');
}
