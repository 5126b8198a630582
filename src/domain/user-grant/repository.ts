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

const bump = (scope: Scope) => ({ updated_at: new Date(), version: scope.db.raw('version + 1') });

export async function insertUserGrant(scope: Scope,
  row: Pick<UserGrantRow, 'id' | 'user_id' | 'project_id' | 'org_id' | 'project_grant_id' | 'role_keys'> & { expires_at?: Date | null }): Promise<void> {
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
function applyUserGrantFilter(q: Knex.QueryBuilder, f: Omit<UserGrantFilter, 'limit' | 'offset'>): void {
  if (f.userId) q.where('ug.user_id', f.userId);
  if (f.projectId) q.where('ug.project_id', f.projectId);
  if (f.orgId) q.where('ug.org_id', f.orgId);
  if (f.projectGrantId) q.where('ug.project_grant_id', f.projectGrantId);
  if (f.state) q.where('ug.state', f.state);
  if (f.roleKey) q.whereRaw('? = ANY(ug.role_keys)', [f.roleKey]);
  if (f.userOrgId) {
    q.join('users as u', function joinUser() { this.on('u.instance_id', 'ug.instance_id').andOn('u.id', 'ug.user_id'); })
      .where('u.org_id', f.userOrgId);
  }
}

export async function listUserGrants(scope: Scope, f: UserGrantFilter = {}): Promise<UserGrantRow[]> {
  const q = scope.table('user_grants', 'ug').select('ug.*').orderBy('ug.created_at').orderBy('ug.id');
  applyUserGrantFilter(q, f);
  if (f.limit) q.limit(Math.min(f.limit, 1000));
  if (f.offset) q.offset(f.offset);
  return q;
}

export async function updateUserGrantRow(scope: Scope, id: string,
  patch: Partial<Pick<UserGrantRow, 'role_keys' | 'state' | 'expires_at'>>): Promise<number> {
  return scope.table('user_grants').where({ id }).update({ ...patch, ...bump(scope) });
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
export async function pageUserGrants(scope: Scope, f: Omit<UserGrantFilter, 'limit' | 'offset'>,
  visibleTo: { projectIds: string[]; projectGrantIds: string[] } | undefined, p: PageParams): Promise<Page<UserGrantRow>> {
  const q = scope.table('user_grants', 'ug').select('ug.*');
  applyUserGrantFilter(q, f);
  if (visibleTo) {
    q.where((w) => {
      w.where((own) => { own.whereNull('ug.project_grant_id').whereIn('ug.project_id', visibleTo.projectIds); })
        .orWhereIn('ug.project_grant_id', visibleTo.projectGrantIds);
    });
  }
  return pageQuery<UserGrantRow>(q, p, userGrantSortColumns, 'ug.created_at', 'ug.id');
}

/** A user's grants with the names a person reads: the project and the giving org. */
export async function listUserGrantsOfUserNamed(scope: Scope, userId: string): Promise<(UserGrantRow & { project_name: string; org_name: string })[]> {
  return scope.table('user_grants', 'ug')
    .join('projects as p', function joinProject() { this.on('p.instance_id', 'ug.instance_id').andOn('p.id', 'ug.project_id'); })
    .join('orgs as o', function joinOrg() { this.on('o.instance_id', 'ug.instance_id').andOn('o.id', 'ug.org_id'); })
    .where('ug.user_id', userId).orderBy('p.name').orderBy('ug.id')
    .select('ug.*', 'p.name as project_name', 'o.name as org_name');
}
