import type { Context } from 'koa';
import type { Scope } from '../db/scope.js';
import { machineUserIdOfClient } from '../domain/api-caller.js';

/**
 * OIDC access tokens are for the API only when the client asked for the API's audience, as
 * ZITADEL's API demands: otherwise any application a user signed in to could replay the user's
 * token against the Management API. Personal access tokens are API tokens by nature.
 */
export const API_AUDIENCE = 'zitadel';
export const API_SCOPE = `urn:zitadel:iam:org:project:id:${API_AUDIENCE}:aud`;

const hasApiScope = (scope: unknown) => typeof scope === 'string' && scope.split(' ').includes(API_SCOPE);

/** The one thing the API needs from the OpenID Provider: its stored opaque tokens. */
export interface OpaqueTokenSource {
  get(instanceId: string, origin: string): Promise<{ provider: any; accessTokens: { resolve(presented: string): Promise<string> } }>;
}

/**
 * Opaque access tokens live in the instance's oidc-provider storage; only its provider can
 * find them. Returns the user the token speaks for when it is a live access token of this
 * instance: the end user of an AccessToken, or the machine user of a client_credentials token.
 */
export async function findOpaqueAccessToken(
  source: OpaqueTokenSource | undefined,
  koa: Context,
  scope: Scope,
  token: string,
): Promise<TokenSubject | undefined> {
  if (!source) return undefined;
  const { provider } = await source.get(koa.state.instanceId, koa.state.origin);
  // Only "no such token" means unauthenticated: a storage failure propagates (503, never 401).
  const access = await provider.AccessToken.find(token);
  if (access && !access.isExpired && access.accountId && hasApiScope(access.scope)) {
    const authTime = access.extra?.auth_time;
    return { userId: access.accountId as string, authTime: typeof authTime === 'number' ? authTime : undefined };
  }
  const cc = await provider.ClientCredentials.find(token);
  if (cc && !cc.isExpired && cc.clientId && hasApiScope(cc.scope)) {
    const userId = await machineUserIdOfClient(scope, cc.clientId as string);
    return userId ? { userId } : undefined;
  }
  return undefined;
}

/** Whom a live access token speaks for, and when that user signed in (absent for machines). */
export interface TokenSubject {
  userId: string;
  authTime?: number;
}

/**
 * A JWT access token is only a signed copy of an opaque one (its jti, see
 * src/oidc/access-token-jwt.ts). The signature alone would keep a revoked JWT working until it
 * expires, so the JWT is mapped to its opaque twin through the instance's provider and counts
 * only while that twin is live. Returns the user as findOpaqueAccessToken does.
 */
export async function findJwtAccessToken(source: OpaqueTokenSource, koa: Context, scope: Scope, jwt: string): Promise<TokenSubject | undefined> {
  const { accessTokens } = await source.get(koa.state.instanceId, koa.state.origin);
  const opaque = await accessTokens.resolve(jwt);
  return findOpaqueAccessToken(source, koa, scope, opaque);
}
