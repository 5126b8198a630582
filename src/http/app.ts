import Koa from 'koa';
import Router from '@koa/router';
import type { Runtime } from '../runtime.js';
import { renderErrors } from './errors.js';
import { resolveInstance } from './instance-resolution.js';
import { onlyTrustedProxies } from './trusted-proxies.js';

/**
 * The Koa app. Order matters: health answers for any host; everything after it belongs to
 * the instance found by the request's host.
 */
export function createApp(rt: Runtime): Koa {
  const trusted = rt.config.server.trustedProxies;
  const app = new Koa({ proxy: trusted.length > 0 });
  app.silent = true;
  app.on('error', (err) => rt.log.error({ err }, 'request failed'));

  const health = new Router();
  health.get('/healthz', async (ctx) => {
    await rt.db.knex.raw('select 1');
    ctx.body = { status: 'ok', database: rt.db.kind === 'embedded' ? 'embedded' : 'postgresql' };
  });

  if (trusted.length) app.use(onlyTrustedProxies(trusted));
  app.use(renderErrors);
  app.use(health.routes());
  app.use(resolveInstance(rt.db.knex, rt.deps.changes));
  // Instance routes are mounted here: the API routers (src/api) and the OpenID Provider (src/oidc, src/login).
  return app;
}
