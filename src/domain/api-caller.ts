import type { Scope } from '../db/scope.js';
import { notFound } from '../shared/errors.js';
import { listMembershipsOfUser } from './membership/repository.js';
import { getOrg } from './org/repository.js';
import type { Principal } from './principal.js';
import { findUserByPersonalAccessToken, getMachineByClientId, getUser, type UserRow } from './user/repository.js';

/**
 * What the APIs read to know who calls, before there is a caller to authorize: the user behind a
 * token, and whether the org a call names is one the caller may act in. Like sign-in.ts for the
 * login, each function answers only what authentication needs.
 */
export type { UserRow };

export const callerById = (scope: Scope, userId: string): Promise<UserRow | undefined> => getUser(scope, userId);

/** The user of a personal access token that is live; its query already requires the user's org to be active. */
export const callerByPersonalAccessToken = (scope: Scope, token: string): Promise<UserRow | undefined> => findUserByPersonalAccessToken(scope, token);

/** A machine user's client id is its username (or login name), as client_credentials takes it. */
export async function machineUserIdOfClient(scope: Scope, clientId: string): Promise<string | undefined> {
  return (await getMachineByClientId(scope, clientId))?.id;
}

/** Why a token's user may not act now (inactive, or its org deactivated), or undefined when it may. */
export async function whyCallerCannotAct(scope: Scope, user: UserRow, opts: { orgChecked?: boolean } = {}): Promise<string | undefined> {
  if (user.state !== 'active') return "the token's user is not active";
  // A deactivated org's users stop acting at once, whatever their tokens' lifetimes.
  if (!opts.orgChecked && (await getOrg(scope, user.org_id))?.state !== 'active') return "the token's organization is not active";
  return undefined;
}

/**
 * The org a Management API call acts in. Another org than the caller's own needs some standing
 * there (instance manager, or a membership in that org or its projects and grants); otherwise the
 * org is as good as absent: not_found, never permission_denied.
 */
export async function requireCallableOrg(scope: Scope, principal: Principal, orgId: string): Promise<void> {
  // The caller's own org was found active while authenticating; only another one is read here.
  const own = principal.type === 'user' && orgId === principal.orgId;
  if (!own && !(await getOrg(scope, orgId))) throw notFound('org', orgId);
  if (principal.type === 'user' && orgId !== principal.orgId) {
    const related = (await listMembershipsOfUser(scope, principal.userId)).some((m) => m.level === 'instance' || m.org_id === orgId);
    if (!related) throw notFound('org', orgId);
  }
}
