import type { Scope } from '../db/scope.js';
import { accountClaims, clientInfo, isLoginable, rolesToPrefetch } from './account.js';
import type { ClaimsCache } from './claims-cache.js';
import type { ClientUseCheck } from './client-use.js';
import { userWithRoleGrants } from './repository.js';
import type { SettingsCache } from './settings-cache.js';

/**
 * oidc-provider's findAccount: the account behind a session or token, with a claims() that
 * builds the claims of each ID token or userinfo response when it is made (so roles and profile
 * are always current). Inactive and machine users, and users of an inactive org, are no account;
 * on userinfo and at the token endpoint (the code and refresh grants), neither is a user the
 * client's project checks now refuse (client-use.ts), so userinfo answers invalid_token and the
 * grant invalid_grant.
 */
export function findAccountFor(scope: Scope, settings: SettingsCache, clientUse: ClientUseCheck, claimsCache?: ClaimsCache) {
  return async function findAccount(ctx: any, sub: string, token: any) {
    // Everywhere the user and their org must be active; on userinfo and at the token endpoint the client's project checks too.
    const route = ctx?.oidc?.route;
    const client = clientInfo(ctx?.oidc?.client);
    const projectId = route === 'userinfo' || route === 'token' ? client.projectId : undefined;
    if (await clientUse(sub, projectId)) return undefined;
    // On userinfo and at the token endpoint (the ID token), the roles the response carries are
    // read in the same statement as the user: on userinfo through the claims cache (invalidated by
    // PostgreSQL on every relevant write), for an ID token always fresh.
    const claimsUse = route === 'userinfo' ? 'userinfo' : route === 'token' ? 'id_token' : undefined;
    const projectIds = claimsUse && token?.scope ? await rolesToPrefetch(settings, client, String(token.scope).split(' '), claimsUse) : undefined;
    const load = () => userWithRoleGrants(scope, sub, projectIds ?? []);
    const { user, grants } = claimsUse === 'userinfo' && claimsCache ? await claimsCache.read(scope.instanceId, sub, projectIds ?? [], load) : await load();
    if (!isLoginable(user)) return undefined;
    const prefetched = projectIds ? { projectIds, grants } : undefined;
    return {
      accountId: user.id,
      async claims(use: string, scopeValue: string) {
        return accountClaims(scope, user, client, use === 'id_token' ? 'id_token' : 'userinfo', scopeValue.split(' '), settings, prefetched);
      },
    };
  };
}
