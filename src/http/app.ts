import Koa from 'koa';
import type { Runtime } from '../runtime.js';
import { renderErrors } from './errors.js';
import { resolveInstance } from './instance-resolution.js';
import { installationApiRoutes, instanceApiRoutes } from '../api/index.js';
import { onlyTrustedProxies } from './trusted-proxies.js';
import { mountOidc } from '../oidc/mount.js';
import { consoleRoutes } from '../console/index.js';
import { accountRoutes } from '../account/index.js';
import { frontDoor } from '../console/front-door.js';
import { Mailer } from '../mail/mailer.js';
import { MailTransports } from '../mail/transport.js';
import { useOps, type DrainState } from '../ops/index.js';

/**
 * The Koa app. Order matters: health and the installation-wide APIs answer on any host;
 * everything after resolveInstance belongs to the instance found by the request's host,
 * and the OpenID Provider (with the login pages) comes last.
 */
export function createApp(rt: Runtime, drain?: DrainState): Koa {
  const trusted = rt.config.server.trustedProxies;
  const app = new Koa({ proxy: trusted.length > 0 });
  app.silent = true;
  app.on('error', (err) => rt.log.error({ err }, 'request failed'));

  if (trusted.length) app.use(onlyTrustedProxies(trusted));
  useOps(app, rt, drain); // request ids and logs, metrics, /livez /readyz /healthz /metrics
  app.use(renderErrors);
  app.use(installationApiRoutes(rt)); // System API and /openapi.json: not tied to the host's instance
  app.use(resolveInstance(rt.db.knex, rt.deps.changes));
  const oidc = mountOidc(rt);
  app.use(instanceApiRoutes(rt, oidc.pool)); // the pool: opaque access tokens live in the provider's storage
  app.use(frontDoor(rt.db.knex));
  // The console signs in through the pool's provider (in-process) and mails invitations.
  app.use(consoleRoutes({ deps: rt.deps, knex: rt.db.knex, pool: oidc.pool, mailer: new Mailer(new MailTransports(rt.db.knex, rt.deps.box, rt.deps.changes), rt.metrics) }));
  // The account page: the user's own sign-in (passkeys, profile, applications), signed in like the console.
  app.use(accountRoutes({ deps: rt.deps, knex: rt.db.knex, pool: oidc.pool }));
  app.use(oidc); // last: the provider answers every path the routers above leave
  return app;
}
