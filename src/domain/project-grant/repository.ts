import type { Scope } from '../../db/scope.js';
import { pageQuery, type Page, type PageParams } from '../../db/paging.js';

export interface ProjectGrantRow {
  id: string;
  project_id: string;
  granted_org_id: string;
  role_keys: string[];
  state: 'active' | 'inactive';
  version: number;
  created_at: Date;
  updated_at: Date;
}

/** What an org received: the read-only view a granted org has of a project. */
export interface GrantedProject {
  projectGrantId: string;
  projectId: string;
  projectName: string;
  projectState: 'active' | 'inactive';
  ownerOrgId: string;
  ownerOrgName: string;
  grantedOrgId: string;
  roleKeys: string[];
  /** The granted roles with their display names and groups, in the grant's order. */
  roles: { key: string; displayName: string; group: string | null }[];
  state: 'active' | 'inactive';
}

export async function insertProjectGrant(scope: Scope, row: Pick<ProjectGrantRow, 'id' | 'project_id' | 'granted_org_id' | 'role_keys'>): Promise<void> {
  await scope.insert('project_grants', row);
}

export async function getProjectGrant(scope: Scope, id: string, lock?: 'share' | 'update'): Promise<ProjectGrantRow | undefined> {
  const q = scope.table('project_grants').where({ id }).first();
  if (lock === 'share') q.forShare();
  if (lock === 'update') q.forUpdate();
  return q;
}

export async function findProjectGrant(scope: Scope, projectId: string, grantedOrgId: string, lock?: 'share'): Promise<ProjectGrantRow | undefined> {
  const q = scope.table('project_grants').where({ project_id: projectId, granted_org_id: grantedOrgId }).first();
  if (lock === 'share') q.forShare();
  return q;
}

export async function listProjectGrants(scope: Scope, filter: { projectId?: string; grantedOrgId?: string } = {}): Promise<ProjectGrantRow[]> {
  const q = scope.table('project_grants').orderBy('created_at').orderBy('id');
  if (filter.projectId) q.where({ project_id: filter.projectId });
  if (filter.grantedOrgId) q.where({ granted_org_id: filter.grantedOrgId });
  return q;
}

export async function updateProjectGrantRow(scope: Scope, id: string, patch: Partial<Pick<ProjectGrantRow, 'role_keys' | 'state'>>): Promise<number> {
  return scope
    .table('project_grants')
    .where({ id })
    .update({ ...patch, ...scope.bump() });
}

export async function deleteProjectGrantRow(scope: Scope, id: string): Promise<number> {
  return scope.table('project_grants').where({ id }).delete();
}

/** project_grants as pg with its project p and the project's owner org o, as a granted project's columns. */
function grantedProjectsQuery(scope: Scope) {
  const q = scope.join(scope.table('project_grants', 'pg'), 'projects as p', (j) => j.on('p.id', 'pg.project_id'));
  return scope
    .join(q, 'orgs as o', (j) => j.on('o.id', 'p.org_id'))
    .select(
      'pg.id as grant_id',
      'pg.project_id',
      'p.name as project_name',
      'p.state as project_state',
      'p.org_id as owner_org_id',
      'o.name as owner_org_name',
      'pg.granted_org_id',
      'pg.role_keys',
      'pg.state',
    );
}

/** Rows of grantedProjectsQuery as granted projects, their roles read in one query. */
async function asGrantedProjects(scope: Scope, rows: Record<string, any>[]): Promise<GrantedProject[]> {
  if (!rows.length) return [];
  const roles: Record<string, any>[] = await scope
    .table('project_roles')
    .whereIn('project_id', [...new Set(rows.map((r) => r.project_id as string))])
    .orderBy('created_at')
    .orderBy('key');
  return rows.map((r) => ({
    projectGrantId: r.grant_id,
    projectId: r.project_id,
    projectName: r.project_name,
    projectState: r.project_state,
    ownerOrgId: r.owner_org_id,
    ownerOrgName: r.owner_org_name,
    grantedOrgId: r.granted_org_id,
    roleKeys: r.role_keys,
    state: r.state,
    roles: (r.role_keys as string[])
      .flatMap((k) => roles.filter((x) => x.project_id === r.project_id && x.key === k))
      .map((x) => ({ key: x.key, displayName: x.display_name, group: x.group })),
  }));
}

/** The projects granted to an org, with their owner and the granted roles (read-only view). */
export async function listGrantedProjects(scope: Scope, orgId: string): Promise<GrantedProject[]> {
  const rows: Record<string, any>[] = await grantedProjectsQuery(scope).where('pg.granted_org_id', orgId).orderBy('p.name');
  return asGrantedProjects(scope, rows);
}

/** Sortable API fields of a project's grant list and their columns (a whitelist). */
export const projectGrantSortColumns = { createdAt: 'created_at', grantedOrgId: 'granted_org_id', state: 'state' } as const;

/** One page of a project's grants with the total over the same filters, paged in the database. */
export async function pageProjectGrants(
  scope: Scope,
  f: { projectId: string; state?: ProjectGrantRow['state'] },
  p: PageParams,
): Promise<Page<ProjectGrantRow>> {
  const q = scope.table('project_grants').where({ project_id: f.projectId });
  if (f.state) q.where({ state: f.state });
  return pageQuery<ProjectGrantRow>(q, p, projectGrantSortColumns, 'created_at', 'id');
}

/** Sortable API fields of the granted-project list and their columns (a whitelist). */
export const grantedProjectSortColumns = { projectName: 'p.name', ownerOrgName: 'o.name', state: 'pg.state' } as const;

/**
 * One page of the projects granted to an org, with the total over the same filters. `onlyGrantIds`,
 * when given, keeps the grants the caller may see, inside the query so paging counts only those.
 */
export async function pageGrantedProjects(
  scope: Scope,
  f: { orgId: string; state?: ProjectGrantRow['state']; onlyGrantIds?: string[] },
  p: PageParams,
): Promise<Page<GrantedProject>> {
  const q = grantedProjectsQuery(scope).where('pg.granted_org_id', f.orgId);
  if (f.state) q.where('pg.state', f.state);
  if (f.onlyGrantIds) q.whereIn('pg.id', f.onlyGrantIds);
  const { total, rows } = await pageQuery<Record<string, any>>(q, p, grantedProjectSortColumns, 'p.name', 'pg.id');
  return { total, rows: await asGrantedProjects(scope, rows) };
}

/** How many user grants were made under each of these project grants (what removing one takes with it). */
export async function countUserGrantsOfProjectGrants(scope: Scope, grantIds: string[]): Promise<Map<string, number>> {
  if (!grantIds.length) return new Map();
  const rows: { project_grant_id: string; n: string | number }[] = await scope
    .table('user_grants')
    .whereIn('project_grant_id', grantIds)
    .groupBy('project_grant_id')
    .select('project_grant_id')
    .count({ n: '*' });
  return new Map(rows.map((r) => [r.project_grant_id, Number(r.n)]));
}
