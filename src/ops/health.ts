import type { Context, Next } from 'koa';
import type { Knex } from 'knex';
import { pendingMigrations } from '../db/database.js';

/**
 * /livez: the process runs and its event loop turns (restart it when this fails).
 * /readyz: it can serve: PostgreSQL answers, its migrations are current, Redis answers (when
 * configured), and it is not shutting down (take it out of the load balancer when this fails).
 * /healthz: the same as /readyz, for what already probes it.
 * Each answers JSON naming every dependency and its state; 503 when not ready.
 */

export interface HealthDeps {
  knex: Knex;
  databaseKind: 'postgres' | 'embedded';
  /** undefined when Redis is not configured */
  redis?: { ping(): Promise<unknown> };
  /** true once a shutdown began */
  draining: () => boolean;
  /** how long one check may take before it counts as down */
  timeoutMs?: number;
}

type Check = { status: 'up' | 'down' | 'not_configured'; error?: string; [k: string]: unknown };

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    }),
  ]);
}

const message = (err: unknown) => (err instanceof Error ? err.message : String(err)).split('\n')[0].slice(0, 200);

export async function readiness(deps: HealthDeps): Promise<{ ready: boolean; body: Record<string, unknown> }> {
  const ms = deps.timeoutMs ?? 1000;
  const database: Check = { status: 'up', kind: deps.databaseKind };
  const migrations: Check = { status: 'up' };
  try {
    const pending = await withTimeout(pendingMigrations(deps.knex), ms);
    if (pending.length) Object.assign(migrations, { status: 'down', pending });
    else migrations.state = 'current';
  } catch (err) {
    Object.assign(database, { status: 'down', error: message(err) });
    Object.assign(migrations, { status: 'down', error: 'unknown while the database is down' });
  }
  const redis: Check = { status: 'not_configured' };
  if (deps.redis) {
    try {
      await withTimeout(deps.redis.ping(), ms);
      redis.status = 'up';
    } catch (err) {
      Object.assign(redis, { status: 'down', error: message(err) });
    }
  }
  const draining = deps.draining();
  const ready = !draining && database.status === 'up' && migrations.status === 'up' && redis.status !== 'down';
  return { ready, body: { status: draining ? 'draining' : ready ? 'ready' : 'not_ready', checks: { database, migrations, redis } } };
}

export function healthRoutes(deps: HealthDeps) {
  return async (ctx: Context, next: Next): Promise<void> => {
    if (ctx.method !== 'GET' && ctx.method !== 'HEAD') return next();
    if (ctx.path === '/livez') {
      ctx.set('Cache-Control', 'no-store');
      ctx.body = { status: 'alive', uptimeS: Math.round(process.uptime()) };
      return;
    }
    if (ctx.path !== '/readyz' && ctx.path !== '/healthz') return next();
    const { ready, body } = await readiness(deps);
    ctx.set('Cache-Control', 'no-store');
    ctx.status = ready ? 200 : 503;
    ctx.body = body;
  };
}
