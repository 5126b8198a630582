import { audienceProjects } from './claims.js';

/** Finds a client's metadata (the provider's cached ClientDirectory.find). */
export type ClientLookup = (clientId: string) => Promise<Record<string, unknown> | undefined>;

/**
 * Who may see a token as active at introspection: the client it was issued to, or an API
 * application whose project is in the token's audience (the issuing client's project plus any
 * `urn:zitadel:iam:org:project:id:{id}:aud` scopes). Anyone else gets `active: false`.
 * The issuing client comes from the client directory's cache, not a fresh read.
 */
export async function introspectionAllowed(findClient: ClientLookup, _ctx: unknown, caller: any, token: any): Promise<boolean> {
  if (caller.clientId === token.clientId) return true;
  const callerProject: string | undefined = caller.tessera_project_id;
  if (!callerProject || caller.tessera_app_type !== 'api') return false;
  const issuedTo = await findClient(token.clientId);
  const scopes = String(token.scope ?? '')
    .split(' ')
    .filter(Boolean);
  return audienceProjects(scopes, issuedTo?.tessera_project_id as string | undefined).includes(callerProject);
}
