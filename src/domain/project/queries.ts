import type { Permission } from '../../authz/index.js';
import type { Page, PageParams } from '../../db/paging.js';
import { notFound } from '../../shared/errors.js';
import { authorize, permissionsOf, visibleIn } from '../authorization.js';
import type { ServiceContext } from '../deps.js';
import {
  countProjectParts,
  countRoleUses,
  getApplication,
  getProject,
  getProjectRole,
  listApplications,
  listProjectRoles,
  pageApplications,
  pageProjects,
  type ApplicationRow,
  type ProjectRoleRow,
  type ProjectRow,
  type ProjectState,
} from './repository.js';

export type { ApplicationRow, ProjectRoleRow, ProjectRow } from './repository.js';

/**
 * Reads of an org's projects for the pages that manage them. A project's pages are for those who
 * may see its configuration (project.app.read) or its managers (project.member.read), on the org
 * or by a membership on the project itself; each part then needs its own read permission (roles,
 * applications, grants, managers). A project the caller may not see answers not_found like one
 * that does not exist, and so does one of another org.
 */
export const PROJECT_PAGE_PERMISSIONS: readonly Permission[] = ['project.app.read', 'project.member.read'];

/** The org's projects the caller may see the pages of, paged in the database; `canCreate` when they may add one. */
export async function orgProjects(
  ctx: ServiceContext,
  orgId: string,
  f: { nameContains?: string; state?: ProjectState },
  p: PageParams,
): Promise<Page<ProjectRow> & { canCreate: boolean }> {
  const [visible, perms] = await Promise.all([Promise.all(PROJECT_PAGE_PERMISSIONS.map((perm) => visibleIn(ctx, perm, orgId))), permissionsOf(ctx)]);
  const canCreate = perms.can('project.create', { orgId });
  const all = visible.some((v) => v.all);
  const ids = [...new Set(visible.flatMap((v) => (v.all ? [] : v.projectIds)))];
  if (!all && ids.length === 0 && !canCreate) throw notFound('org', orgId);
  const page = all || ids.length ? await pageProjects(ctx.scope, { orgId, ...f, onlyIds: all ? undefined : ids }, p) : { total: 0, rows: [] };
  return { ...page, canCreate };
}

/**
 * The project, if it is the org's and the caller may see its pages and, with `permission`, that
 * part of them; else not_found.
 */
export async function projectInOrg(ctx: ServiceContext, orgId: string, projectId: string, permission?: Permission): Promise<ProjectRow> {
  const [project, perms] = await Promise.all([getProject(ctx.scope, projectId), permissionsOf(ctx)]);
  const on = { orgId, projectId };
  if (!project || project.org_id !== orgId || !PROJECT_PAGE_PERMISSIONS.some((perm) => perms.can(perm, on)) || (permission && !perms.can(permission, on)))
    throw notFound('project', projectId);
  return project;
}

export async function projectOverview(
  ctx: ServiceContext,
  orgId: string,
  projectId: string,
): Promise<{ project: ProjectRow; roles: ProjectRoleRow[]; apps: ApplicationRow[] }> {
  const project = await projectInOrg(ctx, orgId, projectId, 'project.app.read');
  const [roles, apps] = await Promise.all([listProjectRoles(ctx.scope, projectId), listApplications(ctx.scope, projectId)]);
  return { project, roles, apps };
}

export async function projectRoles(ctx: ServiceContext, orgId: string, projectId: string): Promise<{ project: ProjectRow; roles: ProjectRoleRow[] }> {
  const project = await projectInOrg(ctx, orgId, projectId, 'project.role.read');
  return { project, roles: await listProjectRoles(ctx.scope, projectId) };
}

/** A role and what its removal changes: the project grants and user grants that hold it. */
export async function projectRoleRemovalImpact(ctx: ServiceContext, orgId: string, projectId: string, key: string) {
  const project = await projectInOrg(ctx, orgId, projectId, 'project.role.delete');
  const role = await getProjectRole(ctx.scope, projectId, key);
  if (!role) throw notFound('project role', key);
  return { project, role, ...(await countRoleUses(ctx.scope, projectId, key)) };
}

export async function projectApps(
  ctx: ServiceContext,
  orgId: string,
  projectId: string,
  f: { nameContains?: string },
  p: PageParams,
): Promise<{ project: ProjectRow; page: Page<ApplicationRow> }> {
  const project = await projectInOrg(ctx, orgId, projectId, 'project.app.read');
  return { project, page: await pageApplications(ctx.scope, { projectId, nameContains: f.nameContains }, p) };
}

export async function projectApp(ctx: ServiceContext, orgId: string, projectId: string, appId: string): Promise<{ project: ProjectRow; app: ApplicationRow }> {
  const project = await projectInOrg(ctx, orgId, projectId, 'project.app.read');
  const app = await getApplication(ctx.scope, appId);
  if (!app || app.project_id !== projectId) throw notFound('application', appId);
  return { project, app };
}

/** What goes with the project when it is deleted, for its delete confirmation (needs project.delete). */
export async function projectDeletionImpact(ctx: ServiceContext, orgId: string, projectId: string) {
  const project = await projectInOrg(ctx, orgId, projectId, 'project.delete');
  return { project, ...(await countProjectParts(ctx.scope, projectId)) };
}

// ---- the APIs' reads: an id outside the org answers not_found, a missing permission permission_denied ----

/** That `projectId` is a project of `orgId` (else not_found), before a write whose service authorizes it. */
export async function requireProjectOfOrg(ctx: ServiceContext, orgId: string, projectId: string): Promise<void> {
  const project = await getProject(ctx.scope, projectId);
  if (!project || project.org_id !== orgId) throw notFound('project', projectId);
}

/** A project of `orgId` for a caller holding `permission` (project.read unless named) on it. */
export async function readProjectOfOrg(ctx: ServiceContext, orgId: string, projectId: string, permission: Permission = 'project.read'): Promise<ProjectRow> {
  const project = await getProject(ctx.scope, projectId);
  if (!project || project.org_id !== orgId) throw notFound('project', projectId);
  await authorize(ctx, permission, { orgId: project.org_id, projectId: project.id });
  return project;
}

/**
 * The org's own projects the caller may read, paged in the database: project-level managers read
 * their project without org-wide project.read, so the projects they may see are a condition of
 * the query and paging counts only those.
 */
export async function pageReadableProjects(
  ctx: ServiceContext,
  orgId: string,
  f: { nameContains?: string; state?: ProjectState },
  p: PageParams,
): Promise<Page<ProjectRow>> {
  const seen = await visibleIn(ctx, 'project.read', orgId);
  return pageProjects(ctx.scope, { orgId, ...f, onlyIds: seen.all ? undefined : seen.projectIds }, p);
}

export async function rolesOfProject(ctx: ServiceContext, orgId: string, projectId: string): Promise<ProjectRoleRow[]> {
  const project = await readProjectOfOrg(ctx, orgId, projectId, 'project.role.read');
  return listProjectRoles(ctx.scope, project.id);
}

export async function pageAppsOfProject(
  ctx: ServiceContext,
  orgId: string,
  projectId: string,
  f: { nameContains?: string; appType?: ApplicationRow['app_type'] },
  p: PageParams,
): Promise<Page<ApplicationRow>> {
  const project = await readProjectOfOrg(ctx, orgId, projectId, 'project.app.read');
  return pageApplications(ctx.scope, { projectId: project.id, ...f }, p);
}

/** An application of a project of `orgId`, for a caller holding `permission` on its project (none: before a write whose service authorizes). */
export async function readAppOfProject(
  ctx: ServiceContext,
  orgId: string,
  projectId: string,
  appId: string,
  permission: Permission | null = 'project.app.read',
): Promise<ApplicationRow> {
  await requireProjectOfOrg(ctx, orgId, projectId);
  const app = await getApplication(ctx.scope, appId);
  if (!app || app.project_id !== projectId) throw notFound('application', appId);
  if (permission) await authorize(ctx, permission, { orgId, projectId });
  return app;
}
