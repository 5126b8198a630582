import type { Page, PageParams } from '../../db/paging.js';
import { notFound, ruleViolation } from '../../shared/errors.js';
import type { Permission } from '../../authz/index.js';
import { authorize, isAllowed, permissionsOf, visibleIn } from '../authorization.js';
import type { ServiceContext } from '../deps.js';
import { findOrgByVerifiedDomain, orgNamesByIds } from '../org/repository.js';
import { projectInOrg, readProjectOfOrg, requireProjectOfOrg } from '../project/queries.js';
import { listProjectRoles, type ProjectRoleRow, type ProjectRow } from '../project/repository.js';
import {
  countUserGrantsOfProjectGrants,
  getProjectGrant,
  listGrantedProjects,
  pageGrantedProjects,
  pageProjectGrants,
  type GrantedProject,
  type ProjectGrantRow,
} from './repository.js';

export type { GrantedProject, ProjectGrantRow } from './repository.js';

/**
 * Reads of project grants: the owner's view (the orgs a project is granted to, needing
 * project.grant.read on the project) and the granted org's read-only view of what it received
 * (project.grant.read on the granted org or on the grant). Anything else answers not_found.
 */
export interface ProjectGrantView extends ProjectGrantRow {
  grantedOrgName: string;
  grantedOrgDomain: string | null;
  /** the user grants the granted org made under this grant: they go when the grant goes */
  userGrants: number;
}

async function withNames(ctx: ServiceContext, rows: ProjectGrantRow[]): Promise<ProjectGrantView[]> {
  const [orgs, counts] = await Promise.all([
    orgNamesByIds(
      ctx.scope,
      rows.map((g) => g.granted_org_id),
    ),
    countUserGrantsOfProjectGrants(
      ctx.scope,
      rows.map((g) => g.id),
    ),
  ]);
  return rows.map((g) => ({
    ...g,
    grantedOrgName: orgs.get(g.granted_org_id)?.name ?? '',
    grantedOrgDomain: orgs.get(g.granted_org_id)?.primaryDomain ?? null,
    userGrants: counts.get(g.id) ?? 0,
  }));
}

/** The orgs a project is granted to, paged in the database, with their names and the user grants under each. */
export async function projectGrantsOf(
  ctx: ServiceContext,
  orgId: string,
  projectId: string,
  p: PageParams,
): Promise<{ project: ProjectRow; page: Page<ProjectGrantView> }> {
  const project = await projectInOrg(ctx, orgId, projectId, 'project.grant.read');
  const page = await pageProjectGrants(ctx.scope, { projectId }, p);
  return { project, page: { total: page.total, rows: await withNames(ctx, page.rows) } };
}

/** One grant of the project, with the project's roles (to pick the granted subset from). */
export async function projectGrantOf(
  ctx: ServiceContext,
  orgId: string,
  projectId: string,
  grantId: string,
): Promise<{ project: ProjectRow; grant: ProjectGrantView; roles: ProjectRoleRow[] }> {
  const project = await projectInOrg(ctx, orgId, projectId, 'project.grant.read');
  const grant = await getProjectGrant(ctx.scope, grantId);
  if (!grant || grant.project_id !== projectId) throw notFound('project grant', grantId);
  const [[view], roles] = await Promise.all([withNames(ctx, [grant]), listProjectRoles(ctx.scope, projectId)]);
  return { project, grant: view, roles };
}

/**
 * The org to grant a project to, named by one of its verified domains (as a person knows it):
 * for callers who may grant the project. Its own org cannot be granted to.
 */
export async function grantTargetByDomain(ctx: ServiceContext, orgId: string, projectId: string, domain: string): Promise<{ id: string; name: string }> {
  await projectInOrg(ctx, orgId, projectId, 'project.grant.write');
  const org = await findOrgByVerifiedDomain(ctx.scope, domain.trim().toLowerCase());
  if (!org) throw ruleViolation('project_grant.org_unknown', `no organization has verified the domain ${domain}`);
  return { id: org.id, name: org.name };
}

/** The projects other orgs granted to `orgId` that the caller may see, read-only, paged in the database. */
export async function grantedProjectsOf(ctx: ServiceContext, orgId: string, p: PageParams): Promise<Page<GrantedProject>> {
  const seen = await visibleIn(ctx, 'project.grant.read', orgId);
  if (!seen.all && seen.projectGrantIds.length === 0) throw notFound('org', orgId);
  return pageGrantedProjects(ctx.scope, { orgId, onlyGrantIds: seen.all ? undefined : seen.projectGrantIds }, p);
}

/** One project granted to `orgId`, as the granted org sees it: the owner, the granted roles; nothing to change. */
export async function grantedProjectOf(ctx: ServiceContext, orgId: string, grantId: string): Promise<GrantedProject> {
  const perms = await permissionsOf(ctx);
  const g = perms.can('project.grant.read', { orgId, projectGrantId: grantId })
    ? (await pageGrantedProjects(ctx.scope, { orgId, onlyGrantIds: [grantId] }, { offset: 0, limit: 1, asc: true })).rows[0]
    : undefined;
  if (!g) throw notFound('project grant', grantId);
  return g;
}

// ---- the APIs' reads: an id outside the org answers not_found, a missing permission permission_denied ----

/** A grant of project `projectId` of `orgId`, for a caller holding `permission` on it (null: before a write whose service authorizes). */
export async function readOwnedGrant(
  ctx: ServiceContext,
  orgId: string,
  projectId: string,
  grantId: string,
  permission: Permission | null = 'project.grant.read',
): Promise<ProjectGrantRow> {
  await requireProjectOfOrg(ctx, orgId, projectId);
  const g = await getProjectGrant(ctx.scope, grantId);
  if (!g || g.project_id !== projectId) throw notFound('project grant', grantId);
  if (permission) await authorize(ctx, permission, { orgId, projectId: g.project_id, projectGrantId: g.id });
  return g;
}

export async function pageGrantsOfProject(
  ctx: ServiceContext,
  orgId: string,
  projectId: string,
  f: { state?: ProjectGrantRow['state'] },
  p: PageParams,
): Promise<Page<ProjectGrantRow>> {
  const project = await readProjectOfOrg(ctx, orgId, projectId, 'project.grant.read');
  return pageProjectGrants(ctx.scope, { projectId: project.id, state: f.state }, p);
}

/** The grants `orgId` received; a PROJECT_GRANT_OWNER sees its one grant (the visible grants are a condition of the query). */
export async function pageReceivedGrants(
  ctx: ServiceContext,
  orgId: string,
  f: { state?: ProjectGrantRow['state'] },
  p: PageParams,
): Promise<Page<GrantedProject>> {
  const seen = await visibleIn(ctx, 'project.grant.read', orgId);
  return pageGrantedProjects(ctx.scope, { orgId, state: f.state, onlyGrantIds: seen.all ? undefined : seen.projectGrantIds }, p);
}

/** A grant `orgId` received, for a caller who may read it (null: before a write whose service authorizes); else not_found. */
export async function receivedGrant(
  ctx: ServiceContext,
  orgId: string,
  grantId: string,
  permission: Permission | null = 'project.grant.read',
): Promise<GrantedProject> {
  const g = (await listGrantedProjects(ctx.scope, orgId)).find((x) => x.projectGrantId === grantId);
  if (!g || (permission && !(await isAllowed(ctx, permission, { orgId, projectGrantId: g.projectGrantId })))) throw notFound('project grant', grantId);
  return g;
}
