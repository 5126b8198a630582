import { levelOfRole, roleTableFor, type Permission, type Resource } from '../../authz/index.js';
import type { Page, PageParams } from '../../db/paging.js';
import { notFound } from '../../shared/errors.js';
import { authorize, permissionsOf } from '../authorization.js';
import type { ServiceContext } from '../deps.js';
import { findUserByLoginName, findUserNamedFromOrg } from '../user/login-name-repository.js';
import { userSummariesByIds, type UserSummary } from '../user/summary-repository.js';
import { getMembership, listMembershipsOfUser, pageMemberships, type MembershipRow } from './repository.js';
import type { MemberTarget } from './service.js';

/**
 * Reads of managers (memberships) at one place: an org, a project, or a project grant (which
 * lives in the project owner's context). Each needs that level's *.member.read on the place;
 * what they may change, *.member.write, the services check again.
 */
export type MemberPlace =
  | { level: 'org'; orgId: string }
  | { level: 'project'; orgId: string; projectId: string }
  /** orgId: the project's owner, in whose context grant-level managers live; grantedOrgId: whose users they usually are */
  | { level: 'project_grant'; orgId: string; projectId: string; projectGrantId: string; grantedOrgId: string };

export interface MemberView extends MembershipRow {
  user?: UserSummary;
}

const readPermission = { org: 'org.member.read', project: 'project.member.read', project_grant: 'project.grant.member.read' } as const;
const writePermission = { org: 'org.member.write', project: 'project.member.write', project_grant: 'project.grant.member.write' } as const;

export function placeResource(place: MemberPlace): Resource {
  switch (place.level) {
    case 'org':
      return { orgId: place.orgId };
    case 'project':
      return { orgId: place.orgId, projectId: place.projectId };
    default:
      return { orgId: place.orgId, projectId: place.projectId, projectGrantId: place.projectGrantId };
  }
}

export const memberPermissions = (place: MemberPlace): { read: Permission; write: Permission } => ({
  read: readPermission[place.level],
  write: writePermission[place.level],
});

async function requireRead(ctx: ServiceContext, place: MemberPlace): Promise<void> {
  const perms = await permissionsOf(ctx);
  if (!perms.can(readPermission[place.level], placeResource(place))) throw notFound(place.level, place.level === 'org' ? place.orgId : place.projectId);
}

const filterOf = (place: MemberPlace) =>
  place.level === 'org'
    ? { level: 'org' as const, orgId: place.orgId }
    : place.level === 'project'
      ? { level: 'project' as const, projectId: place.projectId, withoutProjectGrant: true }
      : { level: 'project_grant' as const, projectGrantId: place.projectGrantId };

/** The managers at the place, paged in the database, with who they are. */
export async function membersAt(ctx: ServiceContext, place: MemberPlace, p: PageParams): Promise<Page<MemberView>> {
  await requireRead(ctx, place);
  const page = await pageMemberships(ctx.scope, filterOf(place), p);
  const users = await userSummariesByIds(
    ctx.scope,
    page.rows.map((m) => m.user_id),
  );
  return { total: page.total, rows: page.rows.map((m) => ({ ...m, user: users.get(m.user_id) })) };
}

/** One manager at the place, or not_found (also for a membership somewhere else). */
export async function memberAt(ctx: ServiceContext, place: MemberPlace, membershipId: string): Promise<MemberView> {
  await requireRead(ctx, place);
  const m = await getMembership(ctx.scope, membershipId);
  const here =
    m &&
    m.level === place.level &&
    (place.level === 'org'
      ? m.org_id === place.orgId
      : place.level === 'project'
        ? m.project_id === place.projectId && !m.project_grant_id
        : m.project_grant_id === place.projectGrantId);
  if (!m || !here) throw notFound('membership', membershipId);
  return { ...m, user: (await userSummariesByIds(ctx.scope, [m.user_id])).get(m.user_id) };
}

/** The manager roles that can be held at the place's level (the built-in ones and any the configuration adds). */
export function rolesForLevel(ctx: ServiceContext, level: MemberPlace['level']): string[] {
  return Object.keys(roleTableFor(ctx.deps.config.roles)).filter((role) => levelOfRole(role) === level);
}

/**
 * The user to make a manager, as the person adding them names them: a user of the place's org (of
 * the granted org, for a project grant) by username, or anyone by their exact login name. Needs
 * *.member.write at the place.
 */
export async function memberCandidate(ctx: ServiceContext, place: MemberPlace, name: string): Promise<UserSummary | undefined> {
  const perms = await permissionsOf(ctx);
  if (!perms.can(writePermission[place.level], placeResource(place))) throw notFound(place.level, place.orgId);
  const text = name.trim();
  if (!text) return undefined;
  const usersOrg = place.level === 'project_grant' ? place.grantedOrgId : place.orgId;
  const user = await findUserNamedFromOrg(ctx.scope, usersOrg, text);
  const summary = user ? (await userSummariesByIds(ctx.scope, [user.id])).get(user.id) : undefined;
  return summary && summary.orgId !== usersOrg ? { ...summary, name: summary.preferredLoginName } : summary;
}

// ---- the APIs' reads: a missing permission answers permission_denied ----

/** The managers at one place (instance, org, project, project grant), for a caller holding `permission` on `resource`. */
export async function pageMembersOf(
  ctx: ServiceContext,
  permission: Permission,
  resource: Resource,
  t: MemberTarget,
  f: { userId?: string; role?: string },
  p: PageParams,
): ReturnType<typeof pageMemberships> {
  await authorize(ctx, permission, resource);
  return pageMemberships(
    ctx.scope,
    {
      level: t.level,
      ...(t.level === 'org' && t.orgId ? { orgId: t.orgId } : {}),
      ...(t.projectId ? { projectId: t.projectId } : {}),
      ...(t.projectGrantId ? { projectGrantId: t.projectGrantId } : {}),
      withoutProjectGrant: t.level === 'project',
      ...f,
    },
    p,
  );
}

/** Where the caller is a manager, with which roles (no permission needed for oneself). */
export async function ownMemberships(ctx: ServiceContext): Promise<MembershipRow[]> {
  return ctx.actor.type === 'user' ? listMembershipsOfUser(ctx.scope, ctx.actor.userId) : [];
}

// ---- instance managers (IAM_* roles), for the console's instance pages ----

/** The instance's managers, paged, with who they are (iam.member.read). */
export async function instanceMembers(ctx: ServiceContext, p: PageParams): Promise<Page<MemberView>> {
  await authorize(ctx, 'iam.member.read', {});
  const page = await pageMemberships(ctx.scope, { level: 'instance' }, p);
  const users = await userSummariesByIds(
    ctx.scope,
    page.rows.map((m) => m.user_id),
  );
  return { total: page.total, rows: page.rows.map((m) => ({ ...m, user: users.get(m.user_id) })) };
}

/** One instance manager, or not_found (also for a membership at another level). */
export async function instanceMember(ctx: ServiceContext, membershipId: string): Promise<MemberView> {
  await authorize(ctx, 'iam.member.read', {});
  const m = await getMembership(ctx.scope, membershipId);
  if (!m || m.level !== 'instance') throw notFound('membership', membershipId);
  return { ...m, user: (await userSummariesByIds(ctx.scope, [m.user_id])).get(m.user_id) };
}

/** The user to make an instance manager, by their exact login name (needs iam.member.write). */
export async function instanceMemberCandidate(ctx: ServiceContext, loginName: string): Promise<UserSummary | undefined> {
  await authorize(ctx, 'iam.member.write', {});
  const user = await findUserByLoginName(ctx.scope, loginName);
  return user ? (await userSummariesByIds(ctx.scope, [user.id])).get(user.id) : undefined;
}
