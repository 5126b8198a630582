import { permissionsOf } from '../authorization.js';
import type { Page, PageParams } from '../../db/paging.js';
import { notFound } from '../../shared/errors.js';
import type { ServiceContext } from '../deps.js';
import { listIdpLinksOfUser, type UserIdpLinkRow } from '../idp/repository.js';
import { listMembershipsOfUserNamed } from '../membership/repository.js';
import { listAuthFactors, type AuthFactor } from '../mfa/service.js';
import { listSignInSessions, type SignInSession } from '../session/repository.js';
import { listUserGrantsOfUserNamed } from '../user-grant/repository.js';
import {
  getUser,
  getUserMetadata,
  listMachineKeys,
  listPersonalAccessTokens,
  loginNamesOf,
  loginNamesOfUsers,
  pageUsers,
  preferredLoginName,
  type MachineKeyRow,
  type PersonalAccessTokenRow,
  type UserRow,
  type UserState,
} from './repository.js';

export type { UserRow, UserState } from './repository.js';

/**
 * Reads of users, each authorized. A user outside the org asked about, or one the caller may
 * not read, answers not_found like an unknown id.
 */

export interface UserSearch {
  text?: string;
  state?: UserState;
  type?: 'human' | 'machine';
}

export async function searchOrgUsers(
  ctx: ServiceContext,
  orgId: string,
  f: UserSearch,
  p: PageParams,
): Promise<Page<UserRow & { preferredLoginName: string }>> {
  const perms = await permissionsOf(ctx);
  if (!perms.can('user.read', { orgId })) throw notFound('org', orgId);
  const page = await pageUsers(ctx.scope, { orgId, text: f.text?.trim() || undefined, state: f.state, type: f.type }, p);
  const names = await loginNamesOfUsers(ctx.scope, page.rows);
  const rows = page.rows.map((u) => ({ ...u, preferredLoginName: names.get(u.id)!.preferredLoginName }));
  return { total: page.total, rows };
}

/** A user of `orgId` the caller may read, or not_found. */
export async function orgUser(ctx: ServiceContext, orgId: string, userId: string): Promise<UserRow> {
  const user = await getUser(ctx.scope, userId);
  const perms = await permissionsOf(ctx);
  if (!user || user.org_id !== orgId || !perms.can('user.read', { orgId })) throw notFound('user', userId);
  return user;
}

export interface UserDetails {
  user: UserRow;
  loginNames: string[];
  preferredLoginName: string;
  metadata: Record<string, string>;
  /** second factors and passkeys (humans) */
  factors: AuthFactor[];
  /** undefined where the caller may not read them */
  grants?: Awaited<ReturnType<typeof listUserGrantsOfUserNamed>>;
  memberships?: Awaited<ReturnType<typeof listMembershipsOfUserNamed>>;
  idpLinks: UserIdpLinkRow[];
  sessions: SignInSession[];
  machine?: { hasSecret: boolean; keys: MachineKeyRow[]; tokens: PersonalAccessTokenRow[] };
}

/** Everything the user's page shows, read with the caller's permissions. */
export async function userDetails(ctx: ServiceContext, orgId: string, userId: string): Promise<UserDetails> {
  const user = await orgUser(ctx, orgId, userId);
  const perms = await permissionsOf(ctx);
  const s = ctx.scope;
  const [loginNames, preferred, metadata, factors, idpLinks, sessions] = await Promise.all([
    loginNamesOf(s, user),
    preferredLoginName(s, user),
    getUserMetadata(s, user.id),
    user.type === 'human' ? listAuthFactors(ctx, user.id) : [],
    listIdpLinksOfUser(s, user.id),
    listSignInSessions(s, user.id),
  ]);
  return {
    user,
    loginNames,
    preferredLoginName: preferred,
    metadata,
    idpLinks,
    sessions,
    factors,
    grants: perms.can('user.grant.read', { orgId }) ? await listUserGrantsOfUserNamed(s, user.id) : undefined,
    memberships: perms.can('user.membership.read', { orgId }) ? await listMembershipsOfUserNamed(s, user.id) : undefined,
    machine:
      user.type === 'machine'
        ? {
            hasSecret: Boolean(user.client_secret_hash),
            keys: await listMachineKeys(s, user.id, { includeExpired: true }),
            tokens: await listPersonalAccessTokens(s, user.id),
          }
        : undefined,
  };
}

/** What deleting a user takes along, for the confirmation page. */
export async function userDeletionImpact(ctx: ServiceContext, orgId: string, userId: string) {
  const d = await userDetails(ctx, orgId, userId);
  return {
    user: d.user,
    preferredLoginName: d.preferredLoginName,
    grants: d.grants?.length ?? 0,
    memberships: d.memberships?.length ?? 0,
    idpLinks: d.idpLinks.length,
    sessions: d.sessions.length,
    metadata: Object.keys(d.metadata).length,
    keys: d.machine?.keys.length ?? 0,
    tokens: d.machine?.tokens.length ?? 0,
  };
}

/** The signed-in user's own name and login name (no permission needed for oneself). */
export async function ownProfile(ctx: ServiceContext): Promise<{ name: string; loginName: string; preferredLanguage: string | null } | undefined> {
  if (ctx.actor.type !== 'user') return undefined;
  const user = await getUser(ctx.scope, ctx.actor.userId);
  if (!user) return undefined;
  return { name: user.display_name ?? user.username, loginName: await preferredLoginName(ctx.scope, user), preferredLanguage: user.preferred_language };
}
