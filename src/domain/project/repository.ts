import type { Scope } from '../../db/scope.js';
import { pageQuery, type Page, type PageParams } from '../../db/paging.js';

export type ProjectState = 'active' | 'inactive';
export type PrivateLabelingSetting = 'unspecified' | 'enforce_project_resource_owner_policy' | 'allow_login_user_resource_owner_policy';

export interface ProjectRow {
  id: string;
  org_id: string;
  name: string;
  state: ProjectState;
  project_role_assertion: boolean;
  project_role_check: boolean;
  has_project_check: boolean;
  private_labeling_setting: PrivateLabelingSetting;
  version: number;
  created_at: Date;
  updated_at: Date;
}

export interface ProjectRoleRow {
  project_id: string;
  key: string;
  display_name: string;
  group: string | null;
  created_at: Date;
}

export type AppType = 'web' | 'user_agent' | 'native' | 'api';
export type AuthMethod = 'client_secret_basic' | 'client_secret_post' | 'none' | 'private_key_jwt';

export interface ApplicationRow {
  id: string;
  project_id: string;
  name: string;
  state: 'active' | 'inactive';
  client_id: string;
  client_secret_hash: string | null;
  app_type: AppType;
  auth_method: AuthMethod;
  redirect_uris: string[];
  post_logout_redirect_uris: string[];
  grant_types: string[];
  response_types: string[];
  access_token_type: 'jwt' | 'opaque';
  id_token_role_assertion: boolean;
  access_token_role_assertion: boolean;
  id_token_userinfo_assertion: boolean;
  clock_skew_s: number;
  dev_mode: boolean;
  skip_consent: boolean;
  /** Public keys for private_key_jwt: a JWKS ({ keys: [...] }). */
  jwks: { keys: Record<string, unknown>[] } | null;
  version: number;
  created_at: Date;
  updated_at: Date;
}

// ---- projects ----

export async function insertProject(scope: Scope, row: Pick<ProjectRow, 'id' | 'org_id' | 'name'> & Partial<ProjectRow>): Promise<void> {
  await scope.insert('projects', row);
}

/**
 * `lock` takes a row lock inside a transaction: writers that check grants against the
 * project's roles share-lock it, role removal locks it exclusively, so the two serialize.
 */
export async function getProject(scope: Scope, id: string, lock?: 'share' | 'update'): Promise<ProjectRow | undefined> {
  const q = scope.table('projects').where({ id }).first();
  if (lock === 'share') q.forShare();
  if (lock === 'update') q.forUpdate();
  return q;
}

export async function listProjects(scope: Scope, filter: { orgId?: string } = {}): Promise<ProjectRow[]> {
  const q = scope.table('projects').orderBy('name');
  if (filter.orgId) q.where({ org_id: filter.orgId });
  return q;
}

export async function findProjectByName(scope: Scope, orgId: string, name: string): Promise<ProjectRow | undefined> {
  return scope.table('projects').where({ org_id: orgId, name }).first();
}

/** Whether another project of the org (than `exceptId`) is named `name`. */
export async function projectNameTaken(scope: Scope, orgId: string, name: string, exceptId: string): Promise<boolean> {
  return !!(await scope.table('projects').where({ org_id: orgId, name }).whereNot({ id: exceptId }).first('id'));
}

export async function updateProjectRow(scope: Scope, id: string, patch: Partial<Omit<ProjectRow, 'id' | 'org_id' | 'version'>>): Promise<number> {
  return scope
    .table('projects')
    .where({ id })
    .update({ ...patch, ...scope.bump() });
}

export async function deleteProjectRow(scope: Scope, id: string): Promise<number> {
  return scope.table('projects').where({ id }).delete();
}

// ---- roles ----

export async function insertProjectRole(scope: Scope, row: { project_id: string; key: string; display_name: string; group?: string | null }): Promise<void> {
  await scope.insert('project_roles', row);
}

export async function listProjectRoles(scope: Scope, projectId: string): Promise<ProjectRoleRow[]> {
  return scope.table('project_roles').where({ project_id: projectId }).orderBy('created_at').orderBy('key');
}

export async function getProjectRole(scope: Scope, projectId: string, key: string, lock?: 'update'): Promise<ProjectRoleRow | undefined> {
  const q = scope.table('project_roles').where({ project_id: projectId, key }).first();
  if (lock === 'update') q.forUpdate();
  return q;
}

export async function updateProjectRoleRow(
  scope: Scope,
  projectId: string,
  key: string,
  patch: { display_name?: string; group?: string | null },
): Promise<number> {
  return scope.table('project_roles').where({ project_id: projectId, key }).update(patch);
}

export async function deleteProjectRoleRow(scope: Scope, projectId: string, key: string): Promise<number> {
  return scope.table('project_roles').where({ project_id: projectId, key }).delete();
}

/** Removes `keys` from the role_keys of every project grant of the project; returns how many changed. */
export async function stripRolesFromProjectGrants(scope: Scope, projectId: string, keys: string[]): Promise<number> {
  return scope
    .table('project_grants')
    .where({ project_id: projectId })
    .whereRaw('role_keys && ?::text[]', [keys])
    .update({ role_keys: scope.expression(withoutKeys, [keys]), ...scope.bump() });
}

/** Removes `keys` from the role_keys of the project's user grants (all, or only those under one project grant). */
export async function stripRolesFromUserGrants(scope: Scope, projectId: string, keys: string[], projectGrantId?: string): Promise<number> {
  const q = scope.table('user_grants').where({ project_id: projectId }).whereRaw('role_keys && ?::text[]', [keys]);
  if (projectGrantId) q.where({ project_grant_id: projectGrantId });
  return q.update({ role_keys: scope.expression(withoutKeys, [keys]), ...scope.bump() });
}

// Keeps the array's order; unnest preserves it.
const withoutKeys = 'ARRAY(SELECT k FROM unnest(role_keys) WITH ORDINALITY AS t(k, n) WHERE NOT (k = ANY(?::text[])) ORDER BY n)';

// ---- applications ----

const jsonColumns = ['redirect_uris', 'post_logout_redirect_uris', 'grant_types', 'response_types', 'jwks'] as const;

/** jsonb columns must be sent as JSON text: pg would otherwise turn JS arrays into PostgreSQL arrays. */
function toDb(row: Partial<ApplicationRow>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...row };
  for (const c of jsonColumns) if (c in out && out[c] !== undefined) out[c] = out[c] === null ? null : JSON.stringify(out[c]);
  return out;
}

export async function insertApplication(
  scope: Scope,
  row: Pick<ApplicationRow, 'id' | 'project_id' | 'name' | 'client_id' | 'app_type' | 'auth_method'> & Partial<ApplicationRow>,
): Promise<void> {
  await scope.insert('applications', toDb(row));
}

export async function getApplication(scope: Scope, id: string): Promise<ApplicationRow | undefined> {
  return scope.table('applications').where({ id }).first();
}

export async function findApplicationByClientId(scope: Scope, clientId: string): Promise<ApplicationRow | undefined> {
  return scope.table('applications').where({ client_id: clientId }).first();
}

export async function listApplications(scope: Scope, projectId: string): Promise<ApplicationRow[]> {
  return scope.table('applications').where({ project_id: projectId }).orderBy('name');
}

export async function updateApplicationRow(scope: Scope, id: string, patch: Partial<Omit<ApplicationRow, 'id' | 'project_id' | 'version'>>): Promise<number> {
  return scope
    .table('applications')
    .where({ id })
    .update({ ...toDb(patch), ...scope.bump() });
}

export async function deleteApplicationRow(scope: Scope, id: string): Promise<number> {
  return scope.table('applications').where({ id }).delete();
}

/** Sortable API fields of the project list and their columns (a whitelist). */
export const projectSortColumns = { name: 'name', createdAt: 'created_at', state: 'state' } as const;

/**
 * One page of an org's projects with the total over the same filters. `onlyIds`, when given,
 * restricts to the projects the caller may see, inside the query so paging counts only those.
 */
export async function pageProjects(
  scope: Scope,
  f: { orgId: string; nameContains?: string; state?: ProjectState; onlyIds?: string[] },
  p: PageParams,
): Promise<Page<ProjectRow>> {
  const q = scope.table('projects').where({ org_id: f.orgId });
  if (f.state) q.where({ state: f.state });
  if (f.nameContains) q.whereILike('name', `%${f.nameContains.replace(/[%_\\]/g, '\\$&')}%`);
  if (f.onlyIds) q.whereIn('id', f.onlyIds);
  return pageQuery<ProjectRow>(q, p, projectSortColumns, 'name', 'id');
}

/** Sortable API fields of a project's application list and their columns (a whitelist). */
export const applicationSortColumns = { name: 'name', createdAt: 'created_at', clientId: 'client_id' } as const;

/** One page of a project's applications with the total over the same filters, paged in the database. */
export async function pageApplications(
  scope: Scope,
  f: { projectId: string; nameContains?: string; appType?: AppType },
  p: PageParams,
): Promise<Page<ApplicationRow>> {
  const q = scope.table('applications').where({ project_id: f.projectId });
  if (f.appType) q.where({ app_type: f.appType });
  if (f.nameContains) q.whereILike('name', `%${f.nameContains.replace(/[%_\\]/g, '\\$&')}%`);
  return pageQuery<ApplicationRow>(q, p, applicationSortColumns, 'name', 'id');
}

/** The project an application (by its client id) belongs to: its owning org and private labeling setting. */
export async function findProjectOfClient(scope: Scope, clientId: string): Promise<Pick<ProjectRow, 'id' | 'org_id' | 'private_labeling_setting'> | undefined> {
  return scope
    .table('projects')
    .whereIn('id', scope.table('applications').where({ client_id: clientId }).select('project_id'))
    .first('id', 'org_id', 'private_labeling_setting');
}

/** Names of projects by id, for lists that show what a row is about. */
export async function projectNamesByIds(scope: Scope, ids: string[]): Promise<Map<string, { name: string; orgId: string }>> {
  if (!ids.length) return new Map();
  const rows: { id: string; name: string; org_id: string }[] = await scope
    .table('projects')
    .whereIn('id', [...new Set(ids)])
    .select('id', 'name', 'org_id');
  return new Map(rows.map((r) => [r.id, { name: r.name, orgId: r.org_id }]));
}

/** What goes with a project when it is deleted: its roles, apps, grants, user grants and project-level managers. */
export async function countProjectParts(
  scope: Scope,
  projectId: string,
): Promise<{ roles: number; apps: number; grants: number; userGrants: number; members: number }> {
  const count = async (table: string) => Number((await scope.table(table).where({ project_id: projectId }).count({ n: '*' }).first())?.n ?? 0);
  const [roles, apps, grants, userGrants, members] = await Promise.all(
    ['project_roles', 'applications', 'project_grants', 'user_grants', 'memberships'].map(count),
  );
  return { roles, apps, grants, userGrants, members };
}

/** How many project grants and user grants of the project hold the role `key` (what its removal changes). */
export async function countRoleUses(scope: Scope, projectId: string, key: string): Promise<{ projectGrants: number; userGrants: number }> {
  const count = async (table: string) =>
    Number((await scope.table(table).where({ project_id: projectId }).whereRaw('? = ANY(role_keys)', [key]).count({ n: '*' }).first())?.n ?? 0);
  const [projectGrants, userGrants] = await Promise.all([count('project_grants'), count('user_grants')]);
  return { projectGrants, userGrants };
}

/** The applications of an org's projects (all, or those of `onlyProjectIds`), named with their project: for pickers. */
export async function listOrgApplications(
  scope: Scope,
  orgId: string,
  onlyProjectIds?: string[],
): Promise<{ client_id: string; name: string; project_id: string; project_name: string }[]> {
  const q = scope
    .join(scope.table('applications', 'a'), 'projects as p', (j) => j.on('p.id', 'a.project_id'))
    .where('p.org_id', orgId)
    .orderBy('p.name')
    .orderBy('a.name')
    .select('a.client_id', 'a.name', 'a.project_id', 'p.name as project_name');
  if (onlyProjectIds) q.whereIn('p.id', onlyProjectIds);
  return q;
}
