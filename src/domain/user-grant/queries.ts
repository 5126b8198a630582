import type { Page, PageParams } from '../../db/paging.js';
import { notFound } from '../../shared/errors.js';
import type { Permission } from '../../authz/index.js';
import { authorize, permissionsOf, visibleIn } from '../authorization.js';
import type { ServiceContext } from '../deps.js';
import { listGrantedProjects } from '../project-grant/repository.js';
import { getProject, listProjectRoles, listProjects, projectNamesByIds } from '../project/repository.js';
import { findUserNamedFromOrg } from '../user/login-name-repository.js';
import { userSummariesByIds, type UserSummary } from '../user/summary-repository.js';
import { getUserGrant, listUserGrants, pageUserGrants, type UserGrantFilter, type UserGrantRow } from './repository.js';
import { userGrantResource } from './service.js';

export type { UserSummary } from '../user/summary-repository.js';
export type { UserGrantRow } from './repository.js';

/**
 * Reads of the user grants an org gave (its authorizations): to its own users and to users of
 * other orgs, on its own projects and on projects granted to it. Who may read which is the
 * caller's user.grant.read (on the org, a project, or a project grant), applied in the query.
 */
export interface UserGrantView extends UserGrantRow {
  user?: UserSummary;
  projectName: string;
}

export interface GivableProject {
  projectId: string;
  name: string;
  /** the owner, when the project was granted to the org */
  ownerOrgName?: string;
  projectGrantId: string | null;
}

export interface GivableRole {
  key: string;
  displayName: string;
  group: string | null;
}

async function withNames(ctx: ServiceContext, rows: UserGrantRow[]): Promise<UserGrantView[]> {
  const [users, projects] = await Promise.all([
    userSummariesByIds(
      ctx.scope,
      rows.map((g) => g.user_id),
    ),
    projectNamesByIds(
      ctx.scope,
      rows.map((g) => g.project_id),
    ),
  ]);
  return rows.map((g) => ({ ...g, user: users.get(g.user_id), projectName: projects.get(g.project_id)?.name ?? '' }));
}

/** The org's user grants the caller may read, newest first unless sorted otherwise, paged in the database. */
export async function orgUserGrants(
  ctx: ServiceContext,
  orgId: string,
  f: { projectId?: string; userId?: string },
  p: PageParams,
): Promise<Page<UserGrantView>> {
  const seen = await visibleIn(ctx, 'user.grant.read', orgId);
  if (!seen.all && !seen.projectIds.length && !seen.projectGrantIds.length) throw notFound('org', orgId);
  const page = await pageUserGrants(ctx.scope, { orgId, projectId: f.projectId, userId: f.userId }, seen.all ? undefined : seen, p);
  return { total: page.total, rows: await withNames(ctx, page.rows) };
}

/** One user grant the org gave, with the roles it may give on that project (to change the grant's roles). */
export async function orgUserGrant(ctx: ServiceContext, orgId: string, id: string): Promise<{ grant: UserGrantView; givable: GivableRole[] }> {
  const g = await getUserGrant(ctx.scope, id);
  const perms = await permissionsOf(ctx);
  if (!g || g.org_id !== orgId || !perms.can('user.grant.read', userGrantResource(g))) throw notFound('user grant', id);
  const [[grant], givable] = await Promise.all([withNames(ctx, [g]), rolesTheOrgMayGive(ctx, orgId, g.project_id)]);
  return { grant, givable: givable?.roles ?? [] };
}

/**
 * The projects on which the caller may give users roles in the org's name: its own, and those
 * granted to it (active ones only). With `forReading`, those whose authorizations they may read,
 * whatever their state (a list's filter).
 */
export async function givableProjects(ctx: ServiceContext, orgId: string, forReading = false): Promise<GivableProject[]> {
  const seen = await visibleIn(ctx, forReading ? 'user.grant.read' : 'user.grant.write', orgId);
  if (!seen.all && !seen.projectIds.length && !seen.projectGrantIds.length) return [];
  const [own, granted] = await Promise.all([listProjects(ctx.scope, { orgId }), listGrantedProjects(ctx.scope, orgId)]);
  return [
    ...own
      .filter((p) => (forReading || p.state === 'active') && (seen.all || seen.projectIds.includes(p.id)))
      .map((p) => ({ projectId: p.id, name: p.name, projectGrantId: null })),
    ...granted
      .filter((g) => (forReading || (g.state === 'active' && g.projectState === 'active')) && (seen.all || seen.projectGrantIds.includes(g.projectGrantId)))
      .map((g) => ({ projectId: g.projectId, name: g.projectName, ownerOrgName: g.ownerOrgName, projectGrantId: g.projectGrantId })),
  ];
}

async function rolesTheOrgMayGive(
  ctx: ServiceContext,
  orgId: string,
  projectId: string,
): Promise<{ project: GivableProject; roles: GivableRole[] } | undefined> {
  const project = await getProject(ctx.scope, projectId);
  if (!project) return undefined;
  const roles = (await listProjectRoles(ctx.scope, projectId)).map((r) => ({ key: r.key, displayName: r.display_name, group: r.group }));
  if (project.org_id === orgId) return { project: { projectId, name: project.name, projectGrantId: null }, roles };
  const grant = (await listGrantedProjects(ctx.scope, orgId)).find((g) => g.projectId === projectId);
  if (!grant) return undefined;
  return {
    project: { projectId, name: project.name, ownerOrgName: grant.ownerOrgName, projectGrantId: grant.projectGrantId },
    roles: roles.filter((r) => grant.roleKeys.includes(r.key)),
  };
}

/** The roles the caller may give on `projectId` in the org's name (for the form), or not_found. */
export async function givableRoles(ctx: ServiceContext, orgId: string, projectId: string): Promise<{ project: GivableProject; roles: GivableRole[] }> {
  const found = (await givableProjects(ctx, orgId)).find((p) => p.projectId === projectId);
  const roles = found ? await rolesTheOrgMayGive(ctx, orgId, projectId) : undefined;
  if (!found || !roles) throw notFound('project', projectId);
  return { project: found, roles: roles.roles };
}

/**
 * Whom an authorization goes to, as a manager names them: a user of the org by username (or
 * login name), or a user of another org by their exact login name only (no search there).
 * Needs user.grant.write in the org (user.grant.read `forReading`, for a list's filter); undefined
 * when nobody matches.
 */
export async function userToAuthorize(ctx: ServiceContext, orgId: string, name: string, forReading = false): Promise<UserSummary | undefined> {
  const seen = await visibleIn(ctx, forReading ? 'user.grant.read' : 'user.grant.write', orgId);
  if (!seen.all && !seen.projectIds.length && !seen.projectGrantIds.length) throw notFound('org', orgId);
  const text = name.trim();
  if (!text) return undefined;
  const user = await findUserNamedFromOrg(ctx.scope, orgId, text);
  const summary = user ? (await userSummariesByIds(ctx.scope, [user.id])).get(user.id) : undefined;
  // Of another org's user the manager learns the login name they typed and nothing more.
  return summary && summary.orgId !== orgId ? { ...summary, name: summary.preferredLoginName } : summary;
}

// ---- the APIs' reads: an id outside the org answers not_found, a missing permission permission_denied ----

/** A user grant `orgId` gave, for a caller holding `permission` on it (null: before a write whose service authorizes). */
export async function readGivenUserGrant(
  ctx: ServiceContext,
  orgId: string,
  id: string,
  permission: Permission | null = 'user.grant.read',
): Promise<UserGrantRow> {
  const g = await getUserGrant(ctx.scope, id);
  if (!g || g.org_id !== orgId) throw notFound('user grant', id);
  if (permission) await authorize(ctx, permission, userGrantResource(g));
  return g;
}

/** The user grants `orgId` gave; who may read which grant is a condition of the query, so paging sees only those. */
export async function pageGivenUserGrants(
  ctx: ServiceContext,
  orgId: string,
  f: Omit<UserGrantFilter, 'limit' | 'offset' | 'orgId'>,
  p: PageParams,
): Promise<Page<UserGrantRow>> {
  const seen = await visibleIn(ctx, 'user.grant.read', orgId);
  return pageUserGrants(ctx.scope, { ...f, orgId }, seen.all ? undefined : seen, p);
}

/** The caller's own user grants, from every giving org (no permission needed for oneself). */
export async function ownUserGrants(ctx: ServiceContext, f: { projectId?: string }): Promise<UserGrantRow[]> {
  return ctx.actor.type === 'user' ? listUserGrants(ctx.scope, { userId: ctx.actor.userId, projectId: f.projectId }) : [];
}
