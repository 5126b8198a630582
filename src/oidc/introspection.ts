import type { Scope } from '../db/scope.js';
import { shownLoginName, userById } from '../domain/sign-in.js';
import { audienceProjects } from './claims.js';
import type { ClaimsCache } from './claims-cache.js';
import type { ClientUseCheck } from './client-use.js';

/** Finds a client's metadata (the provider's cached ClientDirectory.find). */
export type ClientLookup = (clientId: string) => Promise<Record<string, unknown> | undefined>;

/**
 * Who may see a token as active at introspection: the client it was issued to, or an API
 * application whose project is in the token's audience (the issuing client's project plus any
 * `urn:zitadel:iam:org:project:id:{id}:aud` scopes). Anyone else gets `active: false`.
 * The issuing client comes from the client directory's cache, not a fresh read.
 *
 * A token is active only while its client is (an inactive app is no client) and, for a user's
 * token, while the client-use rule still lets the user use that client (client-use.ts).
 */
export async function introspectionAllowed(findClient: ClientLookup, clientUse: ClientUseCheck, _ctx: unknown, caller: any, token: any): Promise<boolean> {
  const issuedTo = caller.clientId === token.clientId ? caller : await findClient(token.clientId);
  if (!issuedTo) return false;
  const issuedToProject = issuedTo.tessera_project_id as string | undefined;
  if (caller.clientId !== token.clientId) {
    const callerProject: string | undefined = caller.tessera_project_id;
    if (!callerProject || caller.tessera_app_type !== 'api') return false;
    const scopes = String(token.scope ?? '')
      .split(' ')
      .filter(Boolean);
    if (!audienceProjects(scopes, issuedToProject).includes(callerProject)) return false;
  }
  return !token.accountId || !(await clientUse(token.accountId, issuedToProject));
}

/**
 * An active introspection answer carries what ZITADEL's does: `aud` (the client id and the
 * projects in the token's audience, as the JWT form names them), `username` (the subject's
 * preferred login name), `iss`, `jti` and `nbf`. Middleware inside the provider (provider.use).
 */
export function introspectionAsZitadel(scope: Scope, findClient: ClientLookup, claimsCache?: ClaimsCache) {
  // The username rests on the user's row and their org's primary domain: kept in the claims
  // cache, which PostgreSQL's notices of writes to users and org_domains drop.
  const load = async (sub: string) => {
    const user = await userById(scope, sub);
    return user ? { username: await shownLoginName(scope, user) } : undefined;
  };
  const usernameOf = (sub: string) => (claimsCache ? claimsCache.caller(scope.instanceId, sub, 'username', () => load(sub)) : load(sub));
  return async (ctx: any, next: () => Promise<void>): Promise<void> => {
    await next();
    if (ctx.oidc?.route !== 'introspection' || ctx.body?.active !== true) return;
    const token = ctx.oidc.entities.AccessToken ?? ctx.oidc.entities.ClientCredentials ?? ctx.oidc.entities.RefreshToken;
    if (!token) return;
    const issuedTo = await findClient(token.clientId);
    const scopes = String(token.scope ?? '')
      .split(' ')
      .filter(Boolean);
    const named = typeof ctx.body.sub === 'string' ? await usernameOf(ctx.body.sub) : undefined;
    Object.assign(ctx.body, {
      aud: [token.clientId, ...audienceProjects(scopes, issuedTo?.tessera_project_id as string | undefined)],
      ...(named ? { username: named.username } : {}),
      iss: ctx.oidc.provider.issuer,
      jti: token.jti,
      nbf: token.iat,
    });
  };
}
