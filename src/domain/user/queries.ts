import type { Permission } from '../../authz/index.js';
import { authorize, isAllowed, permissionsOf } from '../authorization.js';
import type { Page, PageParams } from '../../db/paging.js';
import { notFound } from '../../shared/errors.js';
import { canReadUser } from './service.js';
import { withoutSecrets } from './without-secrets.js';
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
  pageUsers,
  type MachineKeyRow,
  type PersonalAccessTokenRow,
  type ListedUser,
  type UserRow,
  type UserState,
} from './repository.js';
import {
  findUserByLoginName,
  loginNamesOf,
  loginNamesFrom,
  loginNamesOfUsers,
  orgLoginNames,
  preferredLoginName,
  type OrgLoginNames,
  type UserLoginNames,
} from './login-name-repository.js';

export type { ListedUser, UserRow, UserState, MachineKeyRow, PersonalAccessTokenRow } from './repository.js';
export type { UserLoginNames } from './login-name-repository.js';
export type { UserIdpLinkRow } from '../idp/repository.js';

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
): Promise<Page<ListedUser & { preferredLoginName: string }>> {
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

// ---- the APIs' reads: an id outside the org answers not_found, a missing permission permission_denied ----

/** That `userId` is a user of `orgId` (else not_found), before a write whose service authorizes it. */
export async function requireUserOfOrg(ctx: ServiceContext, orgId: string, userId: string): Promise<void> {
  const user = await getUser(ctx.scope, userId);
  if (!user || user.org_id !== orgId) throw notFound('user', userId);
}

/**
 * A user of `orgId` for a caller holding `permission` (user.read unless named) there. A request
 * that only reads takes the row from ctx.kept when it has it (without its secret hashes): every
 * write to the row sends a notice that drops it in every process, and the API waits for its own.
 */
export async function readUserOfOrg(ctx: ServiceContext, orgId: string, userId: string, permission: Permission = 'user.read'): Promise<UserRow> {
  const read = async () => {
    const row = await getUser(ctx.scope, userId);
    return row && withoutSecrets(row);
  };
  const user = ctx.kept ? await ctx.kept.caller(ctx.scope.instanceId, userId, 'user row', read) : await getUser(ctx.scope, userId);
  if (!user || user.org_id !== orgId) throw notFound('user', userId);
  await authorize(ctx, permission, { orgId: user.org_id });
  return user;
}

/** The org's users, paged, filtered and counted in the database (needs user.read); the page's login names in one more query. */
export async function pageOrgUsers(
  ctx: ServiceContext,
  orgId: string,
  f: { type?: 'human' | 'machine'; state?: UserState; usernameContains?: string },
  p: PageParams,
): Promise<Page<ListedUser> & { names: Map<string, UserLoginNames> }> {
  await authorize(ctx, 'user.read', { orgId });
  const page = await pageUsers(ctx.scope, { orgId, ...f }, p);
  return { ...page, names: await keptLoginNames(ctx, page.rows) };
}

/** The names a user is shown and logs in with, for a user the caller has read. */
export async function namesOfUser(ctx: ServiceContext, user: Pick<UserRow, 'id' | 'username' | 'org_id'>): Promise<UserLoginNames> {
  return (await keptLoginNames(ctx, [user])).get(user.id)!;
}

/**
 * Login names with each org's parts from ctx.kept when the request has it: they rest on orgs,
 * org_domains and policies, whose every write drops the instance's kept reads in every process.
 */
async function keptLoginNames(ctx: ServiceContext, users: Pick<UserRow, 'id' | 'username' | 'org_id'>[]): Promise<Map<string, UserLoginNames>> {
  const kept = ctx.kept;
  if (!kept) return loginNamesOfUsers(ctx.scope, users);
  const orgIds = [...new Set(users.map((u) => u.org_id))];
  const parts = await Promise.all(
    orgIds.map(
      async (id) =>
        [id, await kept.caller(ctx.scope.instanceId, `org:${id}`, 'login names', async () => (await orgLoginNames(ctx.scope, [id])).get(id))] as const,
    ),
  );
  return loginNamesFrom(users, new Map(parts.filter((p): p is readonly [string, OrgLoginNames] => p[1] !== undefined)));
}

/**
 * A user of any org of the instance, by exact login name, for one who may give them a user grant
 * (user.grant.write in `orgId`) or read them; else not_found, like an unknown name.
 */
export async function userByExactLoginName(ctx: ServiceContext, orgId: string, loginName: string): Promise<UserRow & { preferredLoginName: string }> {
  const user = await findUserByLoginName(ctx.scope, loginName);
  const allowed = user && ((await isAllowed(ctx, 'user.grant.write', { orgId })) || (await canReadUser(ctx, user)));
  if (!user || !allowed) throw notFound('user', loginName);
  return { ...user, preferredLoginName: await preferredLoginName(ctx.scope, user) };
}

export async function userMetadataOf(ctx: ServiceContext, orgId: string, userId: string): Promise<Record<string, string>> {
  return getUserMetadata(ctx.scope, (await readUserOfOrg(ctx, orgId, userId)).id);
}

export async function machineKeysOf(ctx: ServiceContext, orgId: string, userId: string): Promise<MachineKeyRow[]> {
  return listMachineKeys(ctx.scope, (await readUserOfOrg(ctx, orgId, userId)).id, { includeExpired: true });
}

export async function personalAccessTokensOf(ctx: ServiceContext, orgId: string, userId: string): Promise<PersonalAccessTokenRow[]> {
  return listPersonalAccessTokens(ctx.scope, (await readUserOfOrg(ctx, orgId, userId)).id);
}

/** The user's links to external IdPs; with `permission` user.write, for the unlink that follows. */
export async function idpLinksOf(ctx: ServiceContext, orgId: string, userId: string, permission: Permission = 'user.read'): Promise<UserIdpLinkRow[]> {
  return listIdpLinksOfUser(ctx.scope, (await readUserOfOrg(ctx, orgId, userId, permission)).id);
}

/** The caller's own user (any permission-free Auth API call), or undefined without one. */
export async function ownUser(ctx: ServiceContext): Promise<UserRow | undefined> {
  return ctx.actor.type === 'user' ? getUser(ctx.scope, ctx.actor.userId) : undefined;
}
