import type { Scope } from '../db/scope.js';
import type { KeptReads } from './deps.js';
import { sha256 } from '../shared/crypto.js';
import { notFound } from '../shared/errors.js';
import { listEffectiveMembershipsOfUser, listMembershipsOfUser, type MembershipRow } from './membership/repository.js';
import { getOrg } from './org/repository.js';
import type { Principal } from './principal.js';
import { findPersonalAccessTokenByHash, findUserByPersonalAccessToken, getUser, type UserRow } from './user/repository.js';
import { getMachineByClientId } from './user/login-name-repository.js';
import { withoutSecrets } from './user/without-secrets.js';

/**
 * What the APIs read to know who calls, before there is a caller to authorize: the user behind a
 * token, and whether the org a call names is one the caller may act in. Like sign-in.ts for the
 * login, each function answers only what authentication needs.
 */
export type { UserRow, MembershipRow };

/**
 * Where a process keeps what it knows of callers (the OIDC claims cache, src/oidc/claims-cache.ts):
 * under a user id or a token's hash, until PostgreSQL's notice of a write to any table it was
 * read from (users, orgs, memberships, personal_access_tokens) names that key or its instance,
 * in every process. Absent (embedded mode, or the notices' connection down): every call reads.
 */
export type CallerCache = KeptReads;

/** A caller as authentication and authorization need it: the user (no secrets), their org's state, their memberships. */
export interface KnownCaller {
  user: UserRow;
  orgActive: boolean;
  memberships: MembershipRow[];
  validUntil?: number;
}

async function readCaller(scope: Scope, userId: string): Promise<KnownCaller | undefined> {
  const [user, memberships] = await Promise.all([getUser(scope, userId), listEffectiveMembershipsOfUser(scope, userId)]);
  if (!user) return undefined;
  return { user: withoutSecrets(user), orgActive: (await getOrg(scope, user.org_id))?.state === 'active', memberships };
}

/** The user `userId` with their org's state and memberships: from the cache, or read (three queries). */
export function knownCaller(scope: Scope, userId: string, cache?: CallerCache): Promise<KnownCaller | undefined> {
  return cache ? cache.caller(scope.instanceId, userId, 'state', () => readCaller(scope, userId)) : readCaller(scope, userId);
}

export const callerById = (scope: Scope, userId: string): Promise<UserRow | undefined> => getUser(scope, userId);

/** The user of a personal access token that is live; its query already requires the user's org to be active. */
export const callerByPersonalAccessToken = (scope: Scope, token: string): Promise<UserRow | undefined> => findUserByPersonalAccessToken(scope, token);

/**
 * The caller behind a personal access token (not yet checked for being active: see
 * whyCallerCannotAct), through the cache: a token is keyed by the sha-256 of its text, a
 * 256-bit random value, so the hash is as good as a keyed one and the table holds nothing else.
 * A deleted token's notice names its hash; an expiring one drops out at its expiry.
 */
export async function callerOfPersonalAccessToken(scope: Scope, token: string, cache: CallerCache): Promise<KnownCaller | undefined> {
  const hash = sha256(token);
  const pat = await cache.caller(scope.instanceId, hash, 'pat', async () => {
    const row = await findPersonalAccessTokenByHash(scope, hash);
    return row ? { userId: row.user_id, validUntil: row.expires_at ? new Date(row.expires_at).getTime() : undefined } : undefined;
  });
  if (!pat || (pat.validUntil !== undefined && pat.validUntil <= Date.now())) return undefined;
  return knownCaller(scope, pat.userId, cache);
}

/** A machine user's client id is its username (or login name), as client_credentials takes it. */
export async function machineUserIdOfClient(scope: Scope, clientId: string): Promise<string | undefined> {
  return (await getMachineByClientId(scope, clientId))?.id;
}

/** Why a token's user may not act now (inactive, or its org deactivated), or undefined when it may. */
export async function whyCallerCannotAct(scope: Scope, user: UserRow, opts: { orgChecked?: boolean; orgActive?: boolean } = {}): Promise<string | undefined> {
  if (user.state !== 'active') return "the token's user is not active";
  // A deactivated org's users stop acting at once, whatever their tokens' lifetimes.
  const orgActive = opts.orgActive ?? (opts.orgChecked || (await getOrg(scope, user.org_id))?.state === 'active');
  if (!orgActive) return "the token's organization is not active";
  return undefined;
}

/**
 * The org a Management API call acts in. Another org than the caller's own needs some standing
 * there (instance manager, or a membership in that org or its projects and grants); otherwise the
 * org is as good as absent: not_found, never permission_denied.
 */
export async function requireCallableOrg(scope: Scope, principal: Principal, orgId: string, memberships?: MembershipRow[]): Promise<void> {
  // The caller's own org was found active while authenticating; only another one is read here.
  const own = principal.type === 'user' && orgId === principal.orgId;
  if (!own && !(await getOrg(scope, orgId))) throw notFound('org', orgId);
  if (principal.type === 'user' && orgId !== principal.orgId) {
    const related = (memberships ?? (await listMembershipsOfUser(scope, principal.userId))).some((m) => m.level === 'instance' || m.org_id === orgId);
    if (!related) throw notFound('org', orgId);
  }
}
