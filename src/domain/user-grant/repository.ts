import type { Knex } from 'knex';
import type { Scope } from '../../db/scope.js';
import { pageQuery, type Page, type PageParams } from '../../db/paging.js';

export interface UserGrantRow {
  id: string;
  user_id: string;
  project_id: string;
  /** The giving org: the project's owner, or the holder of project_grant_id. */
  org_id: string;
  project_grant_id: string | null;
  role_keys: string[];
  state: 'active' | 'inactive';
  expires_at: Date | null;
  version: number;
  created_at: Date;
  updated_at: Date;
}

export interface UserGrantFilter {
  userId?: string;
  projectId?: string;
  /** The giving org. */
  orgId?: string;
  projectGrantId?: string;
  /** Only grants of users belonging to this org. */
  userOrgId?: string;
  state?: 'active' | 'inactive';
  roleKey?: string;
  limit?: number;
  offset?: number;
}

export async function insertUserGrant(
  scope: Scope,
  row: Pick<UserGrantRow, 'id' | 'user_id' | 'project_id' | 'org_id' | 'project_grant_id' | 'role_keys'> & { expires_at?: Date | null },
): Promise<void> {
  await scope.insert('user_grants', row);
}

export async function getUserGrant(scope: Scope, id: string, lock?: 'update'): Promise<UserGrantRow | undefined> {
  const q = scope.table('user_grants').where({ id }).first();
  if (lock === 'update') q.forUpdate();
  return q;
}

export async function findUserGrant(scope: Scope, userId: string, projectId: string, orgId: string): Promise<UserGrantRow | undefined> {
  return scope.table('user_grants').where({ user_id: userId, project_id: projectId, org_id: orgId }).first();
}

/** The list filters, on a query over `user_grants as ug`. */
function applyUserGrantFilter(scope: Scope, q: Knex.QueryBuilder, f: Omit<UserGrantFilter, 'limit' | 'offset'>): void {
  if (f.userId) q.where('ug.user_id', f.userId);
  if (f.projectId) q.where('ug.project_id', f.projectId);
  if (f.orgId) q.where('ug.org_id', f.orgId);
  if (f.projectGrantId) q.where('ug.project_grant_id', f.projectGrantId);
  if (f.state) q.where('ug.state', f.state);
  if (f.roleKey) q.whereRaw('? = ANY(ug.role_keys)', [f.roleKey]);
  if (f.userOrgId) {
    scope.join(q, 'users as u', (j) => j.on('u.id', 'ug.user_id')).where('u.org_id', f.userOrgId);
  }
}

export async function listUserGrants(scope: Scope, f: UserGrantFilter = {}): Promise<UserGrantRow[]> {
  const q = scope.table('user_grants', 'ug').select('ug.*').orderBy('ug.created_at').orderBy('ug.id');
  applyUserGrantFilter(scope, q, f);
  if (f.limit) q.limit(Math.min(f.limit, 1000));
  if (f.offset) q.offset(f.offset);
  return q;
}

export async function updateUserGrantRow(scope: Scope, id: string, patch: Partial<Pick<UserGrantRow, 'role_keys' | 'state' | 'expires_at'>>): Promise<number> {
  return scope
    .table('user_grants')
    .where({ id })
    .update({ ...patch, ...scope.bump() });
}

export async function deleteUserGrantRow(scope: Scope, id: string): Promise<number> {
  return scope.table('user_grants').where({ id }).delete();
}

export async function deleteUserGrantsOfProjectGrant(scope: Scope, projectGrantId: string): Promise<number> {
  return scope.table('user_grants').where({ project_grant_id: projectGrantId }).delete();
}

/** Sortable API fields of the user grant list and their columns (a whitelist). */
export const userGrantSortColumns = { createdAt: 'ug.created_at', userId: 'ug.user_id', projectId: 'ug.project_id', state: 'ug.state' } as const;

/**
 * One page of user grants with the total over the same filters. `visibleTo`, when given, keeps
 * only grants on those projects (own grants) or given through those project grants: the
 * caller's permission, applied in the query so paging and the total count only visible rows.
 */
export async function pageUserGrants(
  scope: Scope,
  f: Omit<UserGrantFilter, 'limit' | 'offset'>,
  visibleTo: { projectIds: string[]; projectGrantIds: string[] } | undefined,
  p: PageParams,
): Promise<Page<UserGrantRow>> {
  const q = scope.table('user_grants', 'ug').select('ug.*');
  applyUserGrantFilter(scope, q, f);
  if (visibleTo) {
    q.where((w) => {
      w.where((own) => {
        own.whereNull('ug.project_grant_id').whereIn('ug.project_id', visibleTo.projectIds);
      }).orWhereIn('ug.project_grant_id', visibleTo.projectGrantIds);
    });
  }
  return pageQuery<UserGrantRow>(q, p, userGrantSortColumns, 'ug.created_at', 'ug.id');
}

/** A user's grants with the names a person reads: the project and the giving org. */
export async function listUserGrantsOfUserNamed(scope: Scope, userId: string): Promise<(UserGrantRow & { project_name: string; org_name: string })[]> {
  const q = scope.join(scope.table('user_grants', 'ug'), 'projects as p', (j) => j.on('p.id', 'ug.project_id'));
  return scope
    .join(q, 'orgs as o', (j) => j.on('o.id', 'ug.org_id'))
    .where('ug.user_id', userId)
    .orderBy('p.name')
    .orderBy('ug.id')
    .select('ug.*', 'p.name as project_name', 'o.name as org_name');
}

// ---- the read model of the roles claim ----

/** One giving org's active roles for a user on a project: one entry of the roles claim. */
export interface ActiveRoleGrant {
  projectId: string;
  /** The giving org. */
  orgId: string;
  /** The giving org's primary domain, the value in `{ role: { orgId: domain } }`. */
  orgPrimaryDomain: string;
  /** May be empty: the user still holds a grant (what projectRoleCheck asks for) but no current role. */
  roleKeys: string[];
  userGrantId: string;
  /** Set when the roles were given by a granted org through this project grant. */
  projectGrantId: string | null;
}

/**
 * The read model the roles claim is built from. Pure read; it starts from the user's own
 * grants on the given projects (index user_grants_by_user_project), so its cost grows with
 * that user's grants, not with the instance.
 *
 * Counts only user grants that are active and unexpired, on an active project of an active
 * owner org, given by an active org, and (when made through a project grant) whose grant is
 * active and still belongs to the giving org. Role keys are intersected with the project's
 * current roles and, for grant-made ones, the grant's current roles: the write-side cascades
 * already keep them so, this is defence in depth.
 */
export async function activeRoleGrants(scope: Scope, userId: string, projectIds: string[]): Promise<ActiveRoleGrant[]> {
  if (projectIds.length === 0) return [];
  const rows: { project_id: string; org_id: string; domain: string | null; role_keys: string[]; id: string; project_grant_id: string | null }[] =
    await activeRoleGrantsQuery(scope, userId, projectIds);
  return rows.map((r) => ({
    projectId: r.project_id,
    orgId: r.org_id,
    orgPrimaryDomain: r.domain ?? '',
    roleKeys: r.role_keys,
    userGrantId: r.id,
    projectGrantId: r.project_grant_id,
  }));
}

/** The query behind activeRoleGrants, exposed so tests can EXPLAIN it. */
export function activeRoleGrantsQuery(scope: Scope, userId: string, projectIds: string[]): Knex.QueryBuilder {
  const raw = (sql: string) => scope.expression(sql);
  let q = scope.table('user_grants', 'ug');
  q = scope.join(q, 'projects as p', (j) => j.on('p.id', 'ug.project_id'));
  q = scope.join(q, 'orgs as giver', (j) => j.on('giver.id', 'ug.org_id'));
  q = scope.join(q, 'orgs as owner', (j) => j.on('owner.id', 'p.org_id'));
  q = scope.leftJoin(q, 'project_grants as pg', (j) => j.on('pg.id', 'ug.project_grant_id'));
  q = scope.leftJoin(q, 'org_domains as od', (j) => j.on('od.org_id', 'ug.org_id').andOn('od.is_primary', raw('true')));
  return q
    .where('ug.user_id', userId)
    .whereIn('ug.project_id', [...new Set(projectIds)])
    .where('ug.state', 'active')
    .where((q) => q.whereNull('ug.expires_at').orWhere('ug.expires_at', '>', raw('now()')))
    .where('p.state', 'active')
    .where('giver.state', 'active')
    .where('owner.state', 'active')
    .where((q) =>
      q
        .where((own) => own.whereNull('ug.project_grant_id').whereRaw('ug.org_id = p.org_id'))
        .orWhere((via) => via.where('pg.state', 'active').whereRaw('pg.granted_org_id = ug.org_id').whereRaw('pg.project_id = ug.project_id')),
    )
    .orderBy('ug.project_id')
    .orderBy('ug.created_at')
    .select(
      'ug.id',
      'ug.project_id',
      'ug.org_id',
      'ug.project_grant_id',
      'ug.expires_at',
      'od.domain',
      raw(`ARRAY(
      SELECT k FROM unnest(ug.role_keys) WITH ORDINALITY AS t(k, n)
      WHERE EXISTS (SELECT 1 FROM project_roles pr WHERE pr.instance_id = ug.instance_id AND pr.project_id = ug.project_id AND pr.key = t.k)
        AND (ug.project_grant_id IS NULL OR t.k = ANY(pg.role_keys))
      ORDER BY t.n) AS role_keys`),
    );
}

/**
 * The data hasProjectCheck needs: does the user's org own the project, or hold an active
 * grant of it? `userOrgId` saves a lookup when the caller knows it.
 */
export async function userHasProjectAccess(scope: Scope, q: { userId: string; userOrgId?: string; projectId: string }): Promise<boolean> {
  let orgId = q.userOrgId;
  if (!orgId) {
    const user = await scope.table('users').where({ id: q.userId }).first('org_id');
    if (!user) return false;
    orgId = user.org_id as string;
  }
  const owned = await scope.table('projects').where({ id: q.projectId, org_id: orgId }).first('id');
  if (owned) return true;
  const granted = await scope.table('project_grants').where({ project_id: q.projectId, granted_org_id: orgId, state: 'active' }).first('id');
  return Boolean(granted);
}
