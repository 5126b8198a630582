import type { Scope } from '../db/scope.js';
import { clientUseRefusal, type ClientUseRefusal, type PrincipalStates } from '../domain/access/client-use.js';
import type { ClaimsCache } from './claims-cache.js';

/**
 * The client-use rule (domain/access/client-use.ts) as the provider asks it, at the time of each
 * call: introspection (introspection.ts), userinfo and the token grants (account-lookup.ts). The
 * user's and org's states and the project checks are kept in the claims cache, which PostgreSQL's
 * notices invalidate.
 */
export type ClientUseCheck = (userId: string, projectId: string | undefined) => Promise<ClientUseRefusal | undefined>;

export function clientUseCheckFor(scope: Scope, claimsCache?: ClaimsCache): ClientUseCheck {
  const remember = claimsCache
    ? (userId: string, projectId: string, load: () => Promise<{ validUntil?: number }>) => claimsCache.remember(scope.instanceId, userId, projectId, load)
    : undefined;
  const rememberStates = claimsCache
    ? async (userId: string, load: () => Promise<{ states: PrincipalStates }>) => (await claimsCache.caller(scope.instanceId, userId, 'states', load))!
    : undefined;
  return (userId, projectId) => clientUseRefusal(scope, { userId, projectId, remember, rememberStates });
}
