import { memoized } from '../db/request-memo.js';
import type { Scope } from '../db/scope.js';
import type { SecretBox } from '../shared/crypto.js';
import { findUserByIdpLink, getIdpWithSecret } from './idp/service.js';
import type { IdpWithSecret } from './idp/repository.js';
import type { OrgRow } from './org/repository.js';
import type { PrivateLabelingSetting } from './project/repository.js';
import { secondFactorColumns, secondFactorsFrom, type SecondFactors } from './mfa/repository.js';
import { readsOf, type SignInReads } from './sign-in-reads.js';
import { findHumansByEmail, getUser, type UserRow } from './user/repository.js';
import { findUserByLoginName, loginNamesOf, preferredLoginName, resolveLoginName } from './user/login-name-repository.js';

/**
 * What the sign-in (src/login) reads, before anyone is authenticated: who a typed name means,
 * which org's rules apply, which IdPs a page offers. There is no caller to authorize yet; each
 * function answers only what the login pages and their rules need. The writes of the sign-in
 * are services (user/lockout.ts, user/codes.ts, user/external-profile.ts, idp/service.ts…).
 */
export type { UserRow, OrgRow, IdpWithSecret, PrivateLabelingSetting, SignInReads, SecondFactors };
export { CachedSignInReads, readsOf } from './sign-in-reads.js';

/** The user by id, read at most once per HTTP request (src/db/request-memo.ts). */
export const userById = (scope: Scope, id: string): Promise<UserRow | undefined> => memoized(scope, 'users', id, () => getUser(scope, id));

/** What a person typed on the login page, resolved as ZITADEL does (see findUserByLoginName). */
export const userByLoginName = (scope: Scope, loginName: string): Promise<UserRow | undefined> => findUserByLoginName(scope, loginName);

/**
 * userByLoginName, and whether what was typed is one of the user's login names or their email
 * (one query). With `secondFactorsAt` (the relying party ID), also the user's second factors
 * there, in the same query: the password step needs them right after argon2.
 */
export async function resolveTypedName(
  scope: Scope,
  loginName: string,
  opts: { secondFactorsAt?: string } = {},
): Promise<{ user?: UserRow; via?: 'loginName' | 'email'; secondFactors?: SecondFactors }> {
  if (opts.secondFactorsAt === undefined) return resolveLoginName(scope, loginName);
  const { extra, ...found } = await resolveLoginName(scope, loginName, secondFactorColumns(scope, 'u.id', opts.secondFactorsAt));
  return found.user ? { ...found, secondFactors: secondFactorsFrom(extra) } : found;
}

/** Every name the user can log in with. */
export const loginNames = (scope: Scope, user: Pick<UserRow, 'username' | 'org_id'>): Promise<string[]> => loginNamesOf(scope, user);

/** `username@{primary domain of the user's org}`, as the account chooser and the mails show it. */
export const shownLoginName = (scope: Scope, user: Pick<UserRow, 'username' | 'org_id'>): Promise<string> => preferredLoginName(scope, user);

/** Whether any human user of the instance, in any org and state, has this address (self-registration refuses it). */
export const emailBelongsToSomeone = async (scope: Scope, email: string): Promise<boolean> =>
  (await findHumansByEmail(scope, email, { orgId: null, states: ['initial', 'active', 'inactive', 'locked'], limit: 1 })).length > 0;

/** Users (human, active or initial) an external identity with this email may link to, in the IdP's org if it has one. */
export const usersWithEmail = (scope: Scope, email: string, orgId: string | null): Promise<UserRow[]> =>
  findHumansByEmail(scope, email, { orgId, states: ['active', 'initial'], limit: 2 });

/** The user linked to an external identity at an IdP. */
export async function userOfExternalIdentity(scope: Scope, idpId: string, externalUserId: string): Promise<UserRow | undefined> {
  const link = await findUserByIdpLink(scope, idpId, externalUserId);
  return link ? getUser(scope, link.user_id) : undefined;
}

/** The active IdPs among `ids` that serve this org (its own and the instance's), in the order of `ids`. */
export async function offeredIdps(source: Scope | SignInReads, orgId: string | null, ids: string[]): Promise<{ id: string; name: string }[]> {
  if (!ids.length) return [];
  const available = await readsOf(source).idps(orgId);
  return ids
    .map((id) => available.find((i) => i.id === id && i.state === 'active'))
    .filter((i) => i !== undefined)
    .map((i) => ({ id: i.id, name: i.name }));
}

/** An IdP with its client secret, for the code exchange. */
export const idpForLogin = (scope: Scope, id: string, box: SecretBox): Promise<IdpWithSecret | undefined> => getIdpWithSecret(scope, id, box);
