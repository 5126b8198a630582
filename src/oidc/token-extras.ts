import type { Scope } from '../db/scope.js';
import { accountClaims, clientInfo, machineClaims, userById } from './account.js';
import { machineByClientId } from './repository.js';
import type { SettingsReads } from './settings-cache.js';
import type { ClaimsCache } from './claims-cache.js';

/**
 * oidc-provider's extraTokenClaims: what an access token carries beyond the standard claims.
 * client_credentials tokens are a machine user's (its id is the subject, its roles the claims);
 * a user's access token carries roles and profile only for apps with accessTokenRoleAssertion.
 */
export function extraTokenClaimsFor(scope: Scope, settings: SettingsReads, claimsCache?: ClaimsCache) {
  return async function extraTokenClaims(ctx: any, token: any): Promise<Record<string, unknown> | undefined> {
    const scopes = (token.scope ?? '').split(' ').filter(Boolean);
    if (token.kind === 'ClientCredentials') {
      const machineId: string | undefined = ctx?.oidc?.client?.tessera_machine_id ?? (await machineByClientId(scope, token.clientId))?.id;
      return machineId ? { sub: machineId, ...(await machineClaims(scope, machineId, scopes, claimsCache)) } : undefined;
    }
    if (token.kind === 'AccessToken' && token.accountId) {
      // When the user signed in (RFC 9068's auth_time): the API holds changes to the user's own
      // factors to a recent sign-in (src/domain/recent-sign-in.ts).
      const authTime = signInTimeOf(ctx);
      const signedIn = authTime === undefined ? undefined : { auth_time: authTime };
      const info = clientInfo(ctx?.oidc?.client);
      if (!info.flags?.accessTokenRoleAssertion) return signedIn;
      const user = await userById(scope, token.accountId);
      return user ? accountClaims(scope, user, info, 'access_token', scopes, settings).then(({ sub: _sub, ...rest }) => ({ ...rest, ...signedIn })) : signedIn;
    }
    return undefined;
  };
}

/** The auth_time of the sign-in behind the grant being exchanged (code, refresh token, device code, CIBA). */
function signInTimeOf(ctx: any): number | undefined {
  const e = ctx?.oidc?.entities ?? {};
  const source = e.AuthorizationCode ?? e.RefreshToken ?? e.DeviceCode ?? e.BackchannelAuthenticationRequest;
  return typeof source?.authTime === 'number' ? source.authTime : undefined;
}
