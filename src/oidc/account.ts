import type { Scope } from '../db/scope.js';
import { clientUseRefusal, type ClientUseRefusal } from '../domain/access/client-use.js';
import type { UserRow } from '../domain/user/repository.js';
import {
  audienceProjects,
  buildClaims,
  carriedClaims,
  machineTokenClaims,
  METADATA_SCOPE,
  requestedOrg,
  RESOURCE_OWNER_SCOPE,
  rolesRequested,
  type ClaimsInput,
} from './claims.js';
import type { ClientFlags } from './clients.js';
import { activeRoleGrants, orgSummary, userById, userMetadata, userWithRoleGrants, type RoleGrant } from './repository.js';
import type { ClaimsCache } from './claims-cache.js';
import type { ClientUseCheck } from './client-use.js';
import { directReads, type SettingsReads } from './settings-cache.js';

/**
 * The bridge between oidc-provider's account model and our data: loads what claims.ts needs,
 * and decides whether a user may finish a login for a client (project checks, org scopes).
 * Everything is read when a token is made, so roles are always current; userinfo reads the user
 * and their grants through a cache that PostgreSQL invalidates on every write (claims-cache.ts).
 */

export interface ClientInfo {
  kind?: 'application' | 'machine';
  projectId?: string;
  flags?: ClientFlags;
  skipConsent?: boolean;
}

/** Reads the Tessera metadata an oidc-provider Client carries (see clients.ts). */
export function clientInfo(client: Record<string, any> | undefined): ClientInfo {
  if (!client) return {};
  return {
    kind: client.tessera_kind,
    projectId: client.tessera_project_id,
    flags: client.tessera_flags,
    skipConsent: client.tessera_skip_consent,
  };
}

export function isLoginable(user: UserRow | undefined): user is UserRow {
  return Boolean(user && user.type === 'human' && user.state === 'active');
}

export async function accountClaims(
  scope: Scope,
  user: UserRow,
  client: ClientInfo,
  use: ClaimsInput['use'],
  scopes: string[],
  reads: SettingsReads = directReads(scope),
  prefetched?: PrefetchedGrants,
): Promise<Record<string, unknown>> {
  // Only what the scopes can release, and the token carries, is read: userinfo is the hottest endpoint.
  const carried = carriedClaims(use, client.flags, true);
  const needsOrg = carried.profile && (scopes.includes('profile') || scopes.includes(RESOURCE_OWNER_SCOPE) || requestedOrg(scopes) !== undefined);
  const [org, project] = await Promise.all([
    needsOrg ? reads.orgSummary(user.org_id) : undefined,
    client.projectId ? reads.projectSettings(client.projectId) : undefined,
  ]);
  let grants: RoleGrant[] = [];
  if (carried.roles && project && rolesRequested(scopes, project.project_role_assertion)) {
    const projectIds = audienceProjects(scopes, project.id);
    grants = prefetched && sameSet(prefetched.projectIds, projectIds) ? prefetched.grants : await activeRoleGrants(scope, user.id, projectIds);
  }
  return buildClaims({
    use,
    scopes,
    user: {
      id: user.id,
      username: user.username,
      type: user.type,
      email: user.email,
      emailVerified: user.email_verified,
      phone: user.phone,
      phoneVerified: user.phone_verified,
      givenName: user.given_name,
      familyName: user.family_name,
      displayName: user.display_name ?? user.name,
      nickName: user.nick_name,
      preferredLanguage: user.preferred_language,
      updatedAt: user.updated_at ? new Date(user.updated_at) : undefined,
    },
    org: org ?? { id: user.org_id, name: '', primaryDomain: '' },
    project: project ? { id: project.id, projectRoleAssertion: project.project_role_assertion } : undefined,
    app: client.flags,
    grants,
    metadata: carried.profile && scopes.includes(METADATA_SCOPE) ? await userMetadata(scope, user.id) : undefined,
    withAccessToken: true,
  });
}

/** Role grants read together with the user earlier in the same request (see rolesToPrefetch). */
export interface PrefetchedGrants {
  projectIds: string[];
  grants: RoleGrant[];
}

const sameSet = (a: string[], b: string[]) => a.length === b.length && b.every((x) => a.includes(x));

/**
 * Which projects' role grants a response for this client and these scopes will need, so they can
 * be read in the same statement as the user. Undefined when no roles will be needed.
 */
export async function rolesToPrefetch(reads: SettingsReads, client: ClientInfo, scopes: string[], use: ClaimsInput['use']): Promise<string[] | undefined> {
  if (!client.projectId || !carriedClaims(use, client.flags, true).roles) return undefined;
  const project = await reads.projectSettings(client.projectId);
  if (!project || !rolesRequested(scopes, project.project_role_assertion)) return undefined;
  return audienceProjects(scopes, project.id);
}

/**
 * A client_credentials token's claims: the machine user's roles on the requested audience. Read
 * through the claims cache when there is one (a service calling its API asks for the same token
 * shape over and over); PostgreSQL's notices drop it on any write to the grants, the user, its
 * projects or orgs, in every process, as for userinfo.
 */
export async function machineClaims(scope: Scope, machineUserId: string, scopes: string[], claimsCache?: ClaimsCache): Promise<Record<string, unknown>> {
  const projectIds = audienceProjects(scopes);
  const grants =
    claimsCache && projectIds.length
      ? (await claimsCache.read(scope.instanceId, machineUserId, projectIds, () => userWithRoleGrants(scope, machineUserId, projectIds))).grants
      : await activeRoleGrants(scope, machineUserId, projectIds);
  return machineTokenClaims(grants, scopes);
}

export type LoginRefusal = 'login.user_not_in_requested_org' | 'login.project_role_check_failed' | 'login.has_project_check_failed' | 'login.user_inactive';

export const refusalMessages: Record<LoginRefusal, string> = {
  'login.user_not_in_requested_org': 'This application only accepts users of another organization.',
  'login.project_role_check_failed': "You have no role on this application's project. Ask an administrator to grant you access.",
  'login.has_project_check_failed': "Your organization has no access to this application's project.",
  'login.user_inactive': 'This user cannot sign in.',
};

/**
 * May this user finish a login for this client with these scopes? What the client-use rule
 * refuses (domain/access/client-use.ts: the user's and org's states, projectRoleCheck,
 * hasProjectCheck), and org scopes (urn:zitadel:iam:org:id:…).
 */
export async function loginRefusal(
  scope: Scope,
  user: UserRow,
  client: ClientInfo,
  scopes: string[],
  clientUse?: ClientUseCheck,
): Promise<LoginRefusal | undefined> {
  if (!isLoginable(user)) return 'login.user_inactive';
  const wantedOrg = requestedOrg(scopes);
  if (wantedOrg) {
    const org = await orgSummary(scope, user.org_id);
    const matches = wantedOrg.id ? org?.id === wantedOrg.id : org?.primaryDomain === wantedOrg.domain?.toLowerCase();
    if (!matches) return 'login.user_not_in_requested_org';
  }
  // The provider's check keeps the project checks in the claims cache, as at every later use of the token.
  const refusal = clientUse ? await clientUse(user.id, client.projectId) : await clientUseRefusal(scope, { userId: user.id, projectId: client.projectId });
  return refusal ? loginRefusalOf[refusal] : undefined;
}

const loginRefusalOf: Record<ClientUseRefusal, LoginRefusal> = {
  user_inactive: 'login.user_inactive',
  org_inactive: 'login.user_inactive',
  has_project_check_failed: 'login.has_project_check_failed',
  project_role_check_failed: 'login.project_role_check_failed',
};

export { userById };
