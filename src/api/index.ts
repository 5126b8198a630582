import type { Context, Middleware, Next } from 'koa';
import { bodyParser } from '@koa/bodyparser';
import type { Runtime } from '../runtime/index.js';
import { openApiDocument, referencePage } from './openapi.js';
import type { ApiGroup, ApiServices } from './route.js';
import { DomainError } from '../shared/errors.js';
import { systemApi } from './system.js';
import { adminApi } from './admin.js';
import { managementApi } from './management/index.js';
import { authApi } from './auth.js';

const instanceGroups: ApiGroup[] = [adminApi, managementApi, authApi];
export const allGroups: ApiGroup[] = [systemApi, ...instanceGroups];

const isUnder = (path: string, prefix: string) => path === prefix || path.startsWith(prefix + '/');
const prefixes = allGroups.map((g) => g.prefix);

/** Runs middleware in order, as one (koa-compose without depending on it directly). */
function compose(list: Middleware[]): Middleware {
  return (ctx, next) => {
    const run = (i: number): Promise<unknown> => (i === list.length ? next() : Promise.resolve(list[i](ctx, () => run(i + 1))));
    return run(0);
  };
}

function apiBodies(): Middleware {
  const parse = bodyParser({ enableTypes: ['json'], jsonLimit: '1mb' });
  return async (ctx: Context, next: Next) => {
    if (prefixes.some((p) => isUnder(ctx.path, p))) return parse(ctx, next);
    return next();
  };
}

/**
 * A group's routes, consulted only for paths under its prefix: the OpenID Provider's requests
 * (the hot ones: token, userinfo, introspection) skip matching against every API route.
 */
function mounted(group: ApiGroup, rt: Runtime, services: ApiServices = {}): Middleware {
  const routes = group.middleware(rt, services);
  return (ctx, next) => (isUnder(ctx.path, group.prefix) ? routes(ctx, next) : next());
}

/**
 * Installation-wide routes, mounted before instance resolution: the System API (it names the
 * instance in its paths) and the API document with its reference page, the same for every host.
 */
export function installationApiRoutes(rt: Runtime): Middleware {
  let doc: Record<string, any> | undefined;
  let html: string | undefined;
  const docs: Middleware = async (ctx, next) => {
    if (ctx.method !== 'GET') return next();
    if (ctx.path === '/openapi.json') {
      ctx.body = doc ??= openApiDocument(allGroups);
    } else if (ctx.path === '/docs/api') {
      ctx.type = 'text/html; charset=utf-8';
      ctx.body = html ??= referencePage((doc ??= openApiDocument(allGroups)));
    } else {
      return next();
    }
  };
  return compose([docs, apiBodies(), mounted(systemApi, rt)]);
}

/**
 * The Admin, Management and Auth APIs of the request's instance; mounted after instance
 * resolution. `services` come from the composition root: the notifier (mails about admin
 * actions, e.g. the initial password) and the OIDC provider pool (opaque access tokens).
 */
export function instanceApiRoutes(rt: Runtime, services: ApiServices): Middleware {
  const unknownApiPath: Middleware = async (ctx, next) => {
    // Under an API prefix nothing falls through to the OpenID Provider: an unknown path is a problem+json 404.
    if (instanceGroups.some((g) => isUnder(ctx.path, g.prefix))) {
      throw new DomainError('not_found', `no API route ${ctx.method} ${ctx.path}`, 'route.not_found');
    }
    return next();
  };
  return compose([...instanceGroups.map((g) => mounted(g, rt, services)), unknownApiPath]);
}
