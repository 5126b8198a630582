import type { Logger } from 'pino';
import type { Scope } from '../db/scope.js';
import { recordSignInDevice } from '../domain/session/service.js';
import type { AccessTokenJwts } from './access-token-jwt.js';
import { clientInfo } from './account.js';

/** Middleware inside the provider (oidc-provider's provider.use), after each of its own routes. */
type ProviderMiddleware = (ctx: any, next: () => Promise<void>) => Promise<void>;

/** Clients whose access token type is JWT get the signed form of their (stored, opaque) token (access-token-jwt.ts). */
export function signJwtAccessTokens(accessTokens: AccessTokenJwts): ProviderMiddleware {
  return async (ctx, next) => {
    await next();
    if (ctx.oidc?.route !== 'token' || ctx.status !== 200 || typeof ctx.body?.access_token !== 'string') return;
    const token = ctx.oidc.entities.AccessToken ?? ctx.oidc.entities.ClientCredentials;
    const info = clientInfo(ctx.oidc.client);
    if (!token || info.flags?.accessTokenType !== 'jwt') return;
    ctx.body.access_token = await accessTokens.sign(ctx.body.access_token, token, info.projectId);
  };
}

/** Unknown routes under the provider answer as OIDC errors, not Koa's bare 404. */
export const unknownRoutesAsOidcErrors: ProviderMiddleware = async (ctx, next) => {
  await next();
  if (ctx.status === 404 && ctx.body === undefined) {
    ctx.status = 404;
    ctx.body = { error: 'invalid_request', error_description: 'unrecognized route or not allowed method' };
  }
};

/**
 * After an authorization (a fresh login or a silent one), the browser it came from is remembered
 * against the sign-in session's uid, so users see their sessions by device (src/account). The
 * session is saved by then; a failure here is logged, never the user's problem.
 */
export function recordSessionDevices(scope: Scope, log: Pick<Logger, 'warn'>): ProviderMiddleware {
  return async (ctx, next) => {
    await next();
    const route = String(ctx.oidc?.route ?? '');
    const session = ctx.oidc?.entities?.Session;
    if (!(route === 'authorization' || route.endsWith('resume')) || !session?.accountId || !session.uid || session.destroyed) return;
    await recordSignInDevice(scope, { sessionUid: session.uid, userId: session.accountId, userAgent: ctx.get('user-agent') }).catch((err: unknown) =>
      log.warn({ err }, 'sign-in device not recorded'),
    );
  };
}
