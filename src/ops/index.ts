import type Koa from 'koa';
import type { Logger } from 'pino';
import type { Database } from '../db/database.js';
import type { RedisConnections } from '../shared/redis.js';
import { healthRoutes } from './health.js';
import { requestLogging } from './logging.js';
import type { PromMetrics } from './metrics.js';

export { createLogger } from './logging.js';
export { PromMetrics } from './metrics.js';
export { trackConnections, exitOnSignals, type Drain } from './shutdown.js';

/** Whether the process is shutting down; set by main once the server exists. */
export interface DrainState {
  readonly draining: boolean;
}

/**
 * The operations middleware, first in the app: request id and log line, metrics, then
 * /livez, /readyz (/healthz) and /metrics, which answer on any host.
 */
/** What the operations middleware needs of the runtime. */
export interface OpsDeps {
  log: Logger;
  metrics: PromMetrics;
  db: Database;
  redis?: RedisConnections;
}

export function useOps(app: Koa, rt: OpsDeps, drain: DrainState = { draining: false }): void {
  app.use(requestLogging(rt.log));
  app.use(rt.metrics.http());
  const redis = rt.redis?.commands('health');
  app.use(
    healthRoutes({
      knex: rt.db.knex,
      databaseKind: rt.db.kind,
      redis,
      draining: () => drain.draining,
    }),
  );
  app.use(rt.metrics.endpoint());
}
