import { audienceProjects } from './claims.js';
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
