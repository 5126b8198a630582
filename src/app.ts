import http from 'node:http';
import Koa from 'koa';
import { installationApiRoutes, instanceApiRoutes } from './api/index.js';
import { accountRoutes } from './account/index.js';
import { frontDoor } from './console/front-door.js';
import { consoleRoutes } from './console/index.js';
import { renderErrors } from './http/errors.js';
import { resolveInstance } from './http/instance-resolution.js';
import { mountPages, type PageModule } from './http/pages.js';
import { securityHeaders } from './http/security-headers.js';
import { onlyTrustedProxies } from './http/trusted-proxies.js';
import { LoginThrottle, loginInteractions, loginPages } from './login/index.js';
import { Mailer } from './mail/mailer.js';
import { MailTransports } from './mail/transport.js';
import { directDelivery } from './notify/delivery.js';
import { WebhookSmsSender } from './notify/sms-webhook.js';
import { Notifier } from './notify/notifier.js';
import { MailOutbox } from './notify/outbox.js';
import { ProviderPool } from './oidc/pool.js';
import { providerContext, providerEndpoints } from './oidc/serve.js';
import { useOps, type DrainState } from './ops/index.js';
import { forgetOnWrites, requestMemo } from './db/request-memo.js';
import type { Runtime } from './runtime/index.js';
import { uiAssets } from './ui/assets.js';

/**
 * The composition root: every long-lived part of the HTTP server is built here, once per
 * process, from the runtime (config, database, service dependencies, logger), and handed to the
 * parts that use it. Nothing registers itself on import, and no module reaches for a global:
 * what a part needs is in its constructor's or factory's arguments below.
 *
 * Called by src/main.ts, and by the tests that run a server (createApp(rt).callback()).
 */
export interface TesseraApp {
  koa: Koa;
  /** The request handler, for http.createServer. */
  callback(): http.RequestListener;
  /** The OpenID providers of all instances. */
  pool: ProviderPool;
  /** What mail goes out when; the same one the API and the login use. */
  notifier: Notifier;
  /** Releases what the app holds (provider pool, throttle, mail transports); the runtime is closed by its owner. */
  close(): Promise<void>;
}

/** `drain`: whether the process is shutting down (main.ts), which /readyz reports. */
export function createApp(rt: Runtime, drain?: DrainState): TesseraApp {
  const { config, db, deps, log } = rt;

  // Shared parts, one each per process.
  const transports = new MailTransports(db.knex, deps.box, deps.changes, deps.outbound);
  // Mail leaves through the outbox, after the request has answered; this process's sender sends it.
  // An admin action's mail (an invitation) is sent at once instead, so the admin is told whether it went out.
  const mailer = new Mailer(transports, rt.metrics);
  const outbox = new MailOutbox(db.knex, mailer, deps.box, log, config.mail.outbox, new WebhookSmsSender(deps.box, deps.outbound)).start();
  const notifier = new Notifier(outbox, deps, directDelivery(mailer));
  const throttle = new LoginThrottle({ redis: rt.redis?.commands('throttle'), limits: config.login.throttle });
  const pool = new ProviderPool(
    { knex: db.knex, box: deps.box, hasher: deps.hasher, config, log, metrics: rt.metrics, redisConnections: rt.redis, interactions: loginInteractions },
    deps.changes,
  );

  // Page modules. Those that are clients of the provider (or need nothing of it) mount before its
  // context, with Koa's own cookies: the console and the account page. Those that serve
  // oidc-provider's interactions mount inside it (ctx.state.oidc; ctx.cookies is the provider's jar).
  const pages: PageModule[] = [
    { name: 'console', prefixes: ['/ui/console'], routes: consoleRoutes({ deps, knex: db.knex, pool, notifier }) },
    { name: 'account', prefixes: ['/ui/account'], routes: accountRoutes({ deps, knex: db.knex, pool, notifier }) },
  ];
  const interactionPages: PageModule[] = [uiAssets(db.knex), loginPages({ deps, throttle, notifier })];

  // Order matters: operations (health, metrics) and the installation-wide APIs answer on any host; everything after
  // resolveInstance belongs to the instance found by the request's host; the provider comes last
  // and answers every path the parts before it leave.
  const koa = new Koa({ proxy: config.server.trustedProxies.length > 0 });
  koa.silent = true;
  koa.on('error', (err) => log.error({ err }, 'request failed'));
  if (config.server.trustedProxies.length) koa.use(onlyTrustedProxies(config.server.trustedProxies));
  koa.use(securityHeaders()); // every response, pages and JSON alike (src/http/security-headers.ts)
  useOps(koa, rt, drain); // request ids and logs, metrics, /livez /readyz /healthz /metrics
  forgetOnWrites(db.knex);
  koa.use(requestMemo()); // a user read at most once per request (src/db/request-memo.ts)
  koa.use(renderErrors);
  koa.use(installationApiRoutes(rt)); // the System API names the instance in its paths; /openapi.json
  koa.use(resolveInstance(db.knex, deps.changes));
  koa.use(instanceApiRoutes(rt, { notifier, tokens: pool, callers: pool.claimsCache }));
  koa.use(frontDoor(db.knex)); // GET / in the instance's branding
  koa.use(mountPages(pages));
  koa.use(providerContext(pool));
  koa.use(mountPages(interactionPages));
  koa.use(providerEndpoints());

  return {
    koa,
    pool,
    notifier,
    callback: () => koa.callback(),
    async close() {
      await pool.close();
      await throttle.close();
      await outbox.close();
      transports.close();
    },
  };
}
