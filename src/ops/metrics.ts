import type { Context, Next } from 'koa';
import type { Knex } from 'knex';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { CacheName, MailOutcome, Metrics, RefreshReuse, SignInOutcome } from '../shared/metrics.js';

/**
 * Prometheus metrics on a registry of this process's own (never prom-client's global one), so
 * two apps in one test process do not collide. docs/operations.md lists every metric and label.
 * Labels are bounded: route groups, status codes, fixed reason codes; never ids of any kind.
 */

/** The route group of a path: a handful of fixed names, so the label cannot grow with traffic. */
export function routeGroup(path: string): string {
  if (path === '/livez' || path === '/readyz' || path === '/healthz') return 'health';
  if (path === '/metrics') return 'metrics';
  if (path.startsWith('/ui/login')) return 'login';
  if (path.startsWith('/ui/console')) return 'console';
  if (path.startsWith('/ui/account')) return 'account';
  for (const api of ['system', 'admin', 'management', 'auth']) if (path.startsWith(`/${api}/`)) return `api_${api}`;
  if (path === '/openapi.json') return 'api_docs';
  const oidc: Record<string, string> = {
    '/token': 'oidc_token',
    '/auth': 'oidc_authorize',
    '/me': 'oidc_userinfo',
    '/token/introspection': 'oidc_introspection',
    '/token/revocation': 'oidc_revocation',
    '/jwks': 'oidc_jwks',
    '/.well-known/openid-configuration': 'oidc_discovery',
    '/session/end': 'oidc_end_session',
    '/request': 'oidc_par',
  };
  if (oidc[path]) return oidc[path];
  if (path.startsWith('/auth/') || path.startsWith('/session/end/')) return oidc[path.slice(0, path.indexOf('/', 1))];
  return 'other';
}

const KNOWN_REASON = /^[a-z][a-z0-9_.]{0,40}$/;

export class PromMetrics implements Metrics {
  readonly registry = new Registry();
  private readonly httpRequests = new Counter({
    name: 'tessera_http_requests_total',
    help: 'HTTP requests answered, by route group and status code',
    labelNames: ['group', 'status'],
    registers: [this.registry],
  });
  private readonly httpDuration = new Histogram({
    name: 'tessera_http_request_duration_seconds',
    help: 'HTTP request latency, by route group and status code',
    labelNames: ['group', 'status'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  private readonly signIns = new Counter({
    name: 'tessera_sign_ins_total',
    help: 'Sign-in attempts by outcome and reason',
    labelNames: ['outcome', 'reason'],
    registers: [this.registry],
  });
  private readonly tokens = new Counter({
    name: 'tessera_tokens_issued_total',
    help: 'Token responses by grant type',
    labelNames: ['grant_type'],
    registers: [this.registry],
  });
  private readonly caches = new Counter({
    name: 'tessera_cache_requests_total',
    help: 'Cache lookups by cache and result (hit or miss)',
    labelNames: ['cache', 'result'],
    registers: [this.registry],
  });
  private readonly builds = new Counter({
    name: 'tessera_provider_builds_total',
    help: 'OpenID Provider builds (one per instance and origin, again after each change notice)',
    labelNames: ['result'],
    registers: [this.registry],
  });
  private readonly mails = new Counter({
    name: 'tessera_mails_total',
    help: 'Mails handed to SMTP, by outcome',
    labelNames: ['outcome'],
    registers: [this.registry],
  });
  private readonly reuse = new Counter({
    name: 'tessera_refresh_token_reuse_total',
    help: 'Refresh tokens presented again after rotation: answered within the reuse grace, or the family revoked',
    labelNames: ['outcome'],
    registers: [this.registry],
  });
  private readonly fallback = new Counter({
    name: 'tessera_redis_fallback_total',
    help: 'Short-lived state written to or read from PostgreSQL because Redis was unreachable',
    labelNames: ['operation'],
    registers: [this.registry],
  });
  private readonly poolSources: (() => number)[] = [];
  private readonly redisSources: (() => { name: string; ready: boolean }[])[] = [];

  constructor(opts: { defaultMetrics?: boolean } = {}) {
    if (opts.defaultMetrics !== false) collectDefaultMetrics({ register: this.registry });
    const { poolSources, redisSources } = this;
    new Gauge({
      name: 'tessera_provider_pool_size',
      help: 'OpenID Providers held in the pool',
      registers: [this.registry],
      collect() {
        this.set(poolSources.reduce((n, f) => n + f(), 0));
      },
    });
    new Gauge({
      name: 'tessera_redis_up',
      help: 'Whether each Redis connection is ready (1) or not (0)',
      labelNames: ['connection'],
      registers: [this.registry],
      collect() {
        for (const states of redisSources) for (const { name, ready } of states()) this.set({ connection: name }, ready ? 1 : 0);
      },
    });
  }

  /** Counts and times every request; register first so every answer is seen. */
  http() {
    return async (ctx: Context, next: Next): Promise<void> => {
      const end = this.httpDuration.startTimer();
      const done = () => {
        const labels = { group: routeGroup(ctx.path), status: String(ctx.status) };
        end(labels);
        this.httpRequests.inc(labels);
      };
      // The provider answers on the raw response (ctx.respond = false): count when it is sent.
      ctx.res.once('finish', done);
      await next();
    };
  }

  watchProviderPool(size: () => number): void {
    this.poolSources.push(size);
  }
  watchRedis(states: () => { name: string; ready: boolean }[]): void {
    this.redisSources.push(states);
  }

  /** The database pool: connections in use, idle, and requests waiting for one. */
  watchDatabase(knex: Knex): void {
    type Pool = { numUsed(): number; numFree(): number; numPendingAcquires(): number; max: number };
    new Gauge({
      name: 'tessera_db_pool_connections',
      help: 'Database pool connections by state (used, free, pending acquires, max)',
      labelNames: ['state'],
      registers: [this.registry],
      collect() {
        const p = (knex.client as { pool?: Pool }).pool;
        if (!p) return;
        this.set({ state: 'used' }, p.numUsed());
        this.set({ state: 'free' }, p.numFree());
        this.set({ state: 'pending' }, p.numPendingAcquires());
        this.set({ state: 'max' }, p.max);
      },
    });
  }

  cache(name: CacheName, hit: boolean): void {
    this.caches.inc({ cache: name, result: hit ? 'hit' : 'miss' });
  }
  signIn(outcome: SignInOutcome, reason: string): void {
    this.signIns.inc({ outcome, reason: KNOWN_REASON.test(reason) ? reason : 'other' });
  }
  tokenIssued(grantType: string): void {
    this.tokens.inc({ grant_type: grantTypeLabel(grantType) });
  }
  providerBuilt(ok: boolean): void {
    this.builds.inc({ result: ok ? 'ok' : 'error' });
  }
  mail(outcome: MailOutcome): void {
    this.mails.inc({ outcome });
  }
  refreshReuse(outcome: RefreshReuse): void {
    this.reuse.inc({ outcome });
  }
  redisFallback(operation: 'write' | 'read'): void {
    this.fallback.inc({ operation });
  }

  /** GET /metrics in the Prometheus text format. */
  endpoint() {
    return async (ctx: Context, next: Next): Promise<void> => {
      if (ctx.path !== '/metrics' || ctx.method !== 'GET') return next();
      ctx.set('Content-Type', this.registry.contentType);
      ctx.body = await this.registry.metrics();
    };
  }
}

const GRANT_TYPES: Record<string, string> = {
  authorization_code: 'authorization_code',
  refresh_token: 'refresh_token',
  client_credentials: 'client_credentials',
  'urn:ietf:params:oauth:grant-type:jwt-bearer': 'jwt_bearer',
  'urn:ietf:params:oauth:grant-type:device_code': 'device_code',
};
const grantTypeLabel = (g: string) => GRANT_TYPES[g] ?? 'other';
