import type { IncomingMessage } from 'node:http';
import type { Context } from 'koa';
import { readForm, replayRequest } from './form-replay.js';
import { JWT_BEARER, jwtBearerGrant } from './jwt-bearer.js';
import type { InstanceProvider } from './provider.js';

/** Where a request to the provider carries an access token, by path: the form field holding it. */
const TOKEN_FIELDS: Record<string, string | undefined> = {
  '/token': undefined, // read for the JWT bearer grant only
  '/me': 'access_token',
  '/token/introspection': 'token',
  '/token/revocation': 'token',
};

/**
 * Prepares a request for oidc-provider: JWT access tokens of ours become the opaque tokens they
 * stand for (access-token-jwt.ts), and the JWT bearer grant is answered here. Returns the request
 * to hand on, or undefined when this function already answered.
 */
export async function prepareProviderRequest(ctx: Context, oidc: InstanceProvider): Promise<IncomingMessage | undefined> {
  const auth = ctx.req.headers.authorization;
  if (ctx.path === '/me' && auth && /^bearer /i.test(auth)) {
    ctx.req.headers.authorization = `Bearer ${await oidc.accessTokens.resolve(auth.slice(7).trim())}`;
  }
  if (ctx.method !== 'POST' || !(ctx.path in TOKEN_FIELDS) || !ctx.is('application/x-www-form-urlencoded')) return ctx.req;
  const { raw, params, tooLarge } = await readForm(ctx.req);
  if (tooLarge) {
    ctx.status = 413;
    ctx.body = { error: 'invalid_request', error_description: 'request entity too large' };
    return undefined;
  }
  if (ctx.path === '/token' && params.get('grant_type') === JWT_BEARER) {
    await jwtBearerGrant(ctx, oidc, params);
    return undefined;
  }
  const field = TOKEN_FIELDS[ctx.path];
  const presented = field ? params.get(field) : null;
  if (!field || presented === null) return replayRequest(ctx.req, raw);
  // Without a hint, oidc-provider looks a token up as all three kinds at once, and refresh tokens
  // are durable (a PostgreSQL read on every introspection). With the access token hint it looks up
  // access tokens first (Redis) and refresh tokens only if that finds nothing: same answer.
  const hinted = ctx.path === '/token/introspection' && !params.has('token_type_hint');
  if (hinted) params.set('token_type_hint', 'access_token');
  const resolved = await oidc.accessTokens.resolve(presented);
  if (resolved === presented && !hinted) return replayRequest(ctx.req, raw);
  params.set(field, resolved);
  return replayRequest(ctx.req, params.toString());
}
