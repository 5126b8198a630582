import type { Page, PageParams } from '../../db/paging.js';
import { notFound } from '../../shared/errors.js';
import { permissionsOf, visibleIn } from '../authorization.js';
import type { ServiceContext } from '../deps.js';
import { getProject, listApplications, listProjectRoles, pageProjects, type ApplicationRow, type ProjectRoleRow, type ProjectRow, type ProjectState } from './repository.js';

export type { ProjectRow } from './repository.js';

/**
 * Reads of projects for pages that show a project's configuration (its applications): they need
 * project.app.read on the project (org-wide, or by a membership on the project itself). A project
 * the caller may not see answers not_found like one that does not exist.
 */
export async function orgProjects(ctx: ServiceContext, orgId: string, f: { nameContains?: string; state?: ProjectState }, p: PageParams): Promise<Page<ProjectRow>> {
  const visible = await visibleIn(ctx, 'project.app.read', orgId);
  if (!visible.all && visible.projectIds.length === 0) throw notFound('org', orgId);
  return pageProjects(ctx.scope, { orgId, ...f, onlyIds: visible.all ? undefined : visible.projectIds }, p);
}

export async function projectOverview(ctx: ServiceContext, orgId: string, projectId: string): Promise<{ project: ProjectRow; roles: ProjectRoleRow[]; apps: ApplicationRow[] }> {
  const project = await getProject(ctx.scope, projectId);
  const perms = await permissionsOf(ctx);
  if (!project || project.org_id !== orgId || !perms.can('project.app.read', { orgId, projectId })) throw notFound('project', projectId);
  const [roles, apps] = await Promise.all([listProjectRoles(ctx.scope, projectId), listApplications(ctx.scope, projectId)]);
  return { project, roles, apps };
}
