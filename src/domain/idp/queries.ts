import type { Permission } from '../../authz/index.js';
import { authorize, isAllowed } from '../authorization.js';
import { notFound } from '../../shared/errors.js';
import type { ServiceContext } from '../deps.js';
import { getOrg } from '../org/repository.js';
import { countLinksOfIdp, getIdp, listIdps, type IdpRow } from './repository.js';
import { discoverUpstream } from './upstream.js';

export type { IdpRow } from './repository.js';

/**
 * Reads of identity providers: an org's own (org.idp.read on the org) or the instance's
 * (iam.idp.read). An IdP of another org, or one the caller may not see, is not_found.
 */
async function authorizeRead(ctx: ServiceContext, orgId: string | null): Promise<void> {
  if (!orgId) return authorize(ctx, 'iam.idp.read', {});
  if (!(await getOrg(ctx.scope, orgId)) || !(await isAllowed(ctx, 'org.idp.read', { orgId }))) throw notFound('org', orgId);
}

/** The IdPs this org (or, orgId null, the instance) owns. */
export async function idpsOwnedBy(ctx: ServiceContext, orgId: string | null): Promise<IdpRow[]> {
  await authorizeRead(ctx, orgId);
  return (await listIdps(ctx.scope, { orgId, onlyOrg: true })).filter((i) => i.org_id === orgId);
}

/** One IdP of this org (or the instance), with how many users are linked to it. */
export async function idpOwnedBy(ctx: ServiceContext, orgId: string | null, idpId: string): Promise<IdpRow & { linkedUsers: number }> {
  await authorizeRead(ctx, orgId);
  const idp = await getIdp(ctx.scope, idpId);
  if (!idp || idp.org_id !== orgId) throw notFound('idp', idpId);
  return { ...idp, linkedUsers: await countLinksOfIdp(ctx.scope, idpId) };
}

export type DiscoveryResult =
  | {
      ok: true;
      issuer: string;
      authorizationEndpoint?: string;
      tokenEndpoint?: string;
      userinfoEndpoint?: string;
      jwksUri?: string;
      endSessionEndpoint?: string;
      scopesSupported?: string[];
    }
  | { ok: false; error: string };

/**
 * The "test" of an IdP: fetches its discovery document the way a login will (openid-client,
 * which also checks the issuer it names is the one configured) and says what it found or what
 * failed. Only callers who may change the IdP may make the server call out to it.
 */
export async function testIdpDiscovery(ctx: ServiceContext, orgId: string | null, idpId: string): Promise<DiscoveryResult> {
  const idp = await idpOwnedBy(ctx, orgId, idpId);
  if (orgId) await authorize(ctx, 'org.idp.write', { orgId });
  else await authorize(ctx, 'iam.idp.write', {});
  try {
    const config = await discoverUpstream(idp, ctx.deps.outbound);
    const m = config.serverMetadata();
    return {
      ok: true,
      issuer: m.issuer,
      authorizationEndpoint: m.authorization_endpoint,
      tokenEndpoint: m.token_endpoint,
      userinfoEndpoint: m.userinfo_endpoint,
      jwksUri: m.jwks_uri,
      endSessionEndpoint: m.end_session_endpoint,
      scopesSupported: m.scopes_supported,
    };
  } catch (err) {
    return { ok: false, error: discoveryFailure(err, idp.issuer) };
  }
}

/**
 * What failed, in words an admin can act on: the messages of the whole cause chain (duck-typed, as
 * errors of fetch may come from another realm), without openid-client's generic "something went
 * wrong"; a network failure says the issuer could not be reached, and why.
 */
export function discoveryFailure(err: unknown, issuer: string): string {
  const chain: string[] = [];
  for (let c: unknown = err, i = 0; c && typeof c === 'object' && i < 6; c = (c as { cause?: unknown }).cause, i++) {
    const message = (c as { message?: unknown }).message;
    if (typeof message === 'string' && message && message !== 'something went wrong' && !chain.includes(message)) chain.push(message);
  }
  const network = chain.indexOf('fetch failed');
  if (network >= 0) return `${issuer} could not be reached: ${chain.slice(network + 1).join(': ') || 'no answer'}`;
  return chain.join(': ') || 'unknown error';
}

// ---- the APIs' reads: a missing permission answers permission_denied (the console's above answer not_found) ----

const apiReadPermission = (orgId: string | null): Permission => (orgId ? 'org.idp.read' : 'iam.idp.read');
const resourceOf = (orgId: string | null) => (orgId ? { orgId } : {});

export async function idpsOf(ctx: ServiceContext, orgId: string | null): Promise<IdpRow[]> {
  await authorize(ctx, apiReadPermission(orgId), resourceOf(orgId));
  return (await listIdps(ctx.scope, { orgId, onlyOrg: true })).filter((i) => i.org_id === orgId);
}

/** An IdP of `orgId`, for a caller holding `permission` (the read permission unless named; null: before a write whose service authorizes). */
export async function readIdp(
  ctx: ServiceContext,
  orgId: string | null,
  idpId: string,
  permission: Permission | null = apiReadPermission(orgId),
): Promise<IdpRow> {
  if (permission) await authorize(ctx, permission, resourceOf(orgId));
  const idp = await getIdp(ctx.scope, idpId);
  if (!idp || idp.org_id !== orgId) throw notFound('idp', idpId);
  return idp;
}
