import type Koa from 'koa';
import type { Runtime } from '../runtime.js';
import { healthRoutes } from './health.js';
import { requestLogging } from './logging.js';

export { createLogger } from './logging.js';
export { PromMetrics } from './metrics.js';
export { trackConnections, exitOnSignals, type Drain } from './shutdown.js';

/** Whether the process is shutting down; set by main once the server exists. */
export interface DrainState { readonly draining: boolean }

/**
 * The operations middleware, first in the app: request id and log line, metrics, then
 * /livez, /readyz (/healthz) and /metrics, which answer on any host.
 */
export function useOps(app: Koa, rt: Runtime, drain: DrainState = { draining: false }): void {
  app.use(requestLogging(rt.log));
  app.use(rt.metrics.http());
  const redis = rt.redis?.commands('health');
  app.use(healthRoutes({
    knex: rt.db.knex, databaseKind: rt.db.kind, redis, draining: () => drain.draining,
  }));
  app.use(rt.metrics.endpoint());
}
