import type { Context, Middleware } from 'koa';
import Router from '@koa/router';
import { z } from 'zod';
import type { ZodOpenApiOperationObject } from 'zod-openapi';
import type { Runtime } from '../runtime/index.js';
import type { ServiceContext, ServiceDeps } from '../domain/deps.js';
import type { Principal } from '../domain/principal.js';
import type { CallerCache, MembershipRow } from '../domain/api-caller.js';
import type { Permission } from '../authz/index.js';
import { Scope } from '../db/scope.js';
import type { Notifier } from '../notify/notifier.js';
import type { OpaqueTokenSource } from './oidc-tokens.js';
import { problemSchema } from './schemas.js';
import { DomainError } from '../shared/errors.js';
import { parseIfMatch, setEtag } from './concurrency.js';
import { atVersion, type VersionedEntity } from '../domain/versions.js';
import { transactionHoldingNotices } from '../domain/transaction.js';

/**
 * One route = one zod description. The same object validates the request, shapes the
 * response and becomes an OpenAPI operation, so the document cannot drift from the code.
 */
export type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';

export interface Call {
  koa: Context;
  rt: Runtime;
  /** The service context for this request (inside a transaction for writes). */
  svc: ServiceContext;
  principal: Principal;
  /** Management API: the org the call acts in (header or the caller's org). */
  orgId: string;
  /**
   * Runs `change` if the entity is still at the version If-Match names (any version without the
   * header), else fails with 412; echoes the version the change makes as ETag. The check is the
   * domain's (src/domain/versions.ts), the one the console uses.
   */
  atVersion<T>(entity: VersionedEntity, id: string, change: (svc: ServiceContext) => Promise<T>): Promise<T>;
  /** The version If-Match names, if any (400 when it is not a version). */
  ifMatchVersion(): number | undefined;
  /** Sends ETag for a single resource. */
  etag(version: number): void;
  /** What mail goes out about a change (src/notify); absent on installation-wide routes. */
  notifier?: Notifier;
  /**
   * Work for after the change committed (and was published), e.g. a mail about it: never sent for
   * a change that rolled back, and no SMTP round trip holds the transaction open. It gets a scope
   * outside the transaction. A failure is logged; the change itself stands.
   */
  afterCommit(work: (scope: Scope) => Promise<unknown>): void;
}

/** What the API routes get from the composition root (src/app.ts) beyond the runtime. */
export interface ApiServices {
  notifier?: Notifier;
  /** the OIDC provider pool: opaque access tokens, and the opaque twins of JWT access tokens, live in its storage */
  tokens?: OpaqueTokenSource;
  /** what the process knows of callers (the OIDC claims cache): tokens, users, memberships */
  callers?: CallerCache;
}

type AnyObject = z.ZodObject<z.ZodRawShape>;
type Out<S> = S extends z.ZodType ? z.output<S> : undefined;

export interface RouteSpec<P extends AnyObject | undefined, Q extends AnyObject | undefined, B extends z.ZodType | undefined, R extends z.ZodType | undefined> {
  method: Method;
  /** OpenAPI style, e.g. /projects/{projectId} */
  path: string;
  summary: string;
  description?: string;
  /**
   * The permission the route's services authorize with (several: any one of them); shown in the
   * document as x-permission. Held to it: a call whose services never consulted it fails (500)
   * and its change rolls back, so the document cannot claim a check the code does not make.
   */
  permission?: Permission | readonly Permission[];
  tag?: string;
  params?: P;
  query?: Q;
  body?: B;
  response?: R;
  status?: number;
  /** The route accepts If-Match with the resource version. */
  ifMatch?: boolean;
  /** The change touches something OIDC caches that its services do not announce: publish it (after the commit, with the services' own notices). */
  publishes?: boolean;
  /**
   * The body is raw bytes (an upload), not JSON: one of these content types, at most maxBytes.
   * The handler gets it as `raw`; the document lists the types as binary request bodies.
   */
  rawBody?: { contentTypes: readonly string[]; maxBytes: number };
  /** A write that talks to the outside world (e.g. an SMTP server) must not hold a transaction open meanwhile. */
  noTransaction?: boolean;
  handler: (input: { params: Out<P>; query: Out<Q>; body: Out<B>; raw: RawBody | undefined; call: Call }) => Promise<R extends z.ZodType ? z.input<R> : void>;
}

export interface RawBody {
  contentType: string;
  data: Buffer;
}

export type AnyRoute = RouteSpec<any, any, any, any>;

export interface Authenticated {
  principal: Principal;
  orgId: string;
  /** the caller's memberships, when authentication had them from the caller cache */
  memberships?: MembershipRow[];
}

/** Routes declared together (e.g. one module's); groups are assembled from lists (see management/index.ts). */
export class RouteList {
  readonly routes: AnyRoute[] = [];

  route<
    P extends AnyObject | undefined = undefined,
    Q extends AnyObject | undefined = undefined,
    B extends z.ZodType | undefined = undefined,
    R extends z.ZodType | undefined = undefined,
  >(spec: RouteSpec<P, Q, B, R>): void {
    this.routes.push(spec as AnyRoute);
  }
}

/** A set of routes under one prefix sharing one way to authenticate callers. */
export class ApiGroup extends RouteList {
  constructor(
    readonly prefix: string,
    readonly tag: string,
    readonly securityScheme: 'bearer' | 'systemKey',
    readonly authenticate: (koa: Context, rt: Runtime, services: ApiServices) => Promise<Authenticated>,
    lists: RouteList[] = [],
  ) {
    super();
    for (const list of lists) this.routes.push(...list.routes);
  }

  /**
   * The group's routes as middleware; the instance comes from ctx.state.instanceId unless the
   * group is installation-wide. A request is matched only against the routes of its method and
   * first path segment (one @koa/router each, with the group's prefix), not against every route
   * of the group: matching walked all of them, a few percent of a cheap read's CPU.
   */
  middleware(rt: Runtime, services: ApiServices = {}): Middleware {
    const buckets = new Map<string, Router>();
    // Literal segments (e.g. /users/_by_login_name) must win over /users/{userId}: register them first.
    const ordered = [...this.routes].sort((a, b) => specificity(b.path) - specificity(a.path));
    for (const spec of ordered) {
      const key = bucketKey(spec.method.toUpperCase(), spec.path);
      let router = buckets.get(key);
      if (!router) buckets.set(key, (router = new Router({ prefix: this.prefix })));
      router[spec.method](koaPath(spec.path), async (koa) => {
        await this.run(spec, koa, rt, services);
      });
    }
    const dispatch = new Map([...buckets].map(([key, router]) => [key, router.routes() as Middleware]));
    const prefixLength = this.prefix.length;
    return (ctx, next) => {
      // HEAD is answered by GET routes, as @koa/router does; the router matches paths case-insensitively.
      const method = ctx.method === 'HEAD' ? 'GET' : ctx.method;
      const routes = dispatch.get(bucketKey(method, ctx.path.slice(prefixLength)));
      return routes ? routes(ctx, next) : next();
    };
  }

  private async run(spec: AnyRoute, koa: Context, rt: Runtime, services: ApiServices): Promise<void> {
    const { principal, orgId, memberships } = await this.authenticate(koa, rt, services);
    const params = spec.params ? spec.params.parse(koa.params) : undefined;
    const query = spec.query ? spec.query.parse(koa.query) : undefined;
    const body = spec.body ? spec.body.parse((koa.request as { body?: unknown }).body ?? {}) : undefined;
    // Read before any transaction opens: a slow upload must not hold a database connection.
    const raw = spec.rawBody ? await readRawBody(koa, spec.rawBody) : undefined;
    const instanceId: string = koa.state.instanceId ?? '';
    const scope = new Scope(rt.db.knex, instanceId);
    const write = spec.method !== 'get';
    const inTransaction = write && !spec.noTransaction && instanceId !== '';
    const after: ((scope: Scope) => Promise<unknown>)[] = [];
    const invoke = async (s: Scope, deps: ServiceDeps) => {
      const checked = new Set<Permission>();
      const call: Call = {
        koa,
        rt,
        principal,
        orgId,
        // A read authorizes with the memberships authentication found (kept until a change to them
        // is noticed); a write reads them again, in its transaction.
        svc: {
          deps,
          scope: s,
          actor: principal,
          checked,
          ...(memberships && !write ? { readOnlyRequest: { memberships: Promise.resolve(memberships) } } : {}),
          ...(!write && services.callers ? { kept: services.callers } : {}),
        },
        atVersion: (entity, id, change) =>
          atVersion(call.svc, entity, id, parseIfMatch(koa.get('if-match')), (svc, version) => {
            // The write about to happen bumps the version by one.
            setEtag(koa, version + 1);
            return change(svc);
          }),
        ifMatchVersion: () => parseIfMatch(koa.get('if-match')),
        etag: (version) => setEtag(koa, version),
        notifier: services.notifier,
        afterCommit: (work) => {
          after.push(work);
        },
      };
      const result = await spec.handler({ params, query, body, raw, call });
      const declared = permissionsOfRoute(spec);
      if (declared.length && !declared.some((p) => checked.has(p))) {
        throw new Error(
          `${spec.method} ${this.prefix}${spec.path} declares ${declared.join(' or ')}, but its services consulted ${[...checked].join(', ') || 'no permission'}`,
        );
      }
      // Through the call's bus: in a transaction it joins the services' held notices (one per instance).
      if (write && spec.publishes && instanceId) await deps.changes.publish(instanceId);
      return result;
    };
    // Writes run in one transaction so an If-Match check and the change it guards cannot interleave.
    // A write's services' change notices leave once its transaction has committed.
    const result = inTransaction
      ? await transactionHoldingNotices({ deps: rt.deps, scope, actor: principal }, (svc) => invoke(svc.scope, svc.deps))
      : await invoke(scope, rt.deps);
    // The caller cache hears of a write through PostgreSQL's notices: wait for this one's, so the
    // writer's next call (a revoked token, a locked user, a removed membership) sees it at once.
    if (write && instanceId) await services.callers?.sync();
    for (const work of after) {
      await work(scope).catch((err) => rt.log.warn({ err, route: `${spec.method} ${this.prefix}${spec.path}` }, 'work after commit failed'));
    }

    koa.status = spec.status ?? (spec.method === 'post' ? 201 : 200);
    if (spec.response) {
      // Serialized here with its type named: Koa would look 'json' up in the MIME table per response.
      koa.set('Content-Type', JSON_TYPE);
      koa.body = JSON.stringify(spec.response.parse(result));
    } else if (koa.status === 200 || koa.status === 201) koa.status = 204;
  }

  /** The OpenAPI path items of this group. */
  openApiPaths(): Record<string, Record<string, ZodOpenApiOperationObject>> {
    const paths: Record<string, Record<string, ZodOpenApiOperationObject>> = {};
    for (const spec of this.routes) {
      const status = String(spec.status ?? (spec.method === 'post' ? 201 : 200));
      const op: ZodOpenApiOperationObject = {
        summary: spec.summary,
        ...(spec.description ? { description: spec.description } : {}),
        tags: [spec.tag ?? this.tag],
        operationId: operationId(spec.method, this.prefix + spec.path),
        security: [{ [this.securityScheme]: [] }],
        requestParams: {
          ...(spec.params ? { path: spec.params } : {}),
          ...(spec.query ? { query: spec.query } : {}),
          ...(spec.ifMatch
            ? { header: z.object({ 'if-match': z.string().optional().meta({ description: 'the version from ETag; 412 when the resource changed since' }) }) }
            : {}),
        },
        ...(spec.body ? { requestBody: { content: { 'application/json': { schema: spec.body } } } } : {}),
        ...(spec.rawBody
          ? {
              requestBody: {
                required: true,
                description: `the file itself, at most ${spec.rawBody.maxBytes} bytes`,
                content: Object.fromEntries(spec.rawBody.contentTypes.map((t) => [t, { schema: binary }])),
              },
            }
          : {}),
        responses: {
          [spec.response ? status : '204']: {
            description: spec.response ? 'OK' : 'Done',
            ...(spec.response ? { content: { 'application/json': { schema: spec.response } } } : {}),
          },
          default: { description: 'An error, as application/problem+json', content: { 'application/problem+json': { schema: problemSchema } } },
        },
        ...(spec.permission ? { 'x-permission': permissionsOfRoute(spec).join(' or ') } : {}),
      };
      (paths[this.prefix + spec.path] ??= {})[spec.method] = op;
    }
    return paths;
  }
}

function permissionsOfRoute(spec: AnyRoute): readonly Permission[] {
  return spec.permission === undefined ? [] : typeof spec.permission === 'string' ? [spec.permission] : spec.permission;
}

const JSON_TYPE = 'application/json; charset=utf-8';

const binary = z.string().meta({ format: 'binary' });

/** The request's bytes, when its Content-Type is one of `contentTypes` and it is within maxBytes. */
async function readRawBody(koa: Context, opts: { contentTypes: readonly string[]; maxBytes: number }): Promise<RawBody> {
  const contentType = (koa.get('content-type').split(';')[0] ?? '').trim().toLowerCase();
  if (!opts.contentTypes.includes(contentType)) {
    throw new DomainError('invalid_input', `Content-Type must be one of ${opts.contentTypes.join(', ')}`, 'upload.unsupported_type', {
      allowed: opts.contentTypes,
    });
  }
  const tooLarge = () => new DomainError('invalid_input', `the upload exceeds ${opts.maxBytes} bytes`, 'upload.too_large', { maxBytes: opts.maxBytes });
  // Refuse by the announced length first, so an oversized upload is never read.
  if (Number(koa.get('content-length') || 0) > opts.maxBytes) throw tooLarge();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of koa.req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > opts.maxBytes) throw tooLarge();
    chunks.push(chunk);
  }
  return { contentType, data: Buffer.concat(chunks) };
}

/** A route's bucket: its method and the first segment of its path under the prefix, in lower case. */
function bucketKey(method: string, path: string): string {
  const end = path.indexOf('/', 1);
  return `${method} ${(end < 0 ? path.slice(1) : path.slice(1, end)).toLowerCase()}`;
}

function koaPath(path: string): string {
  return path.replace(/\{(\w+)\}/g, ':$1');
}

function specificity(path: string): number {
  // More literal segments first; among equals, keep declaration order (sort is stable).
  return path.split('/').filter((s) => s && !s.startsWith('{')).length * 10 - (path.match(/\{/g)?.length ?? 0);
}

function operationId(method: string, path: string): string {
  return (
    method +
    path
      .replace(/\{(\w+)\}/g, 'By_$1')
      .split(/[^A-Za-z0-9]+/)
      .filter(Boolean)
      .map((s) => s[0].toUpperCase() + s.slice(1))
      .join('')
  );
}
