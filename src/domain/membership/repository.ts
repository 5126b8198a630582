import type { Scope } from '../../db/scope.js';
import { newId } from '../../shared/ids.js';
import { pageQuery, type Page, type PageParams } from '../../db/paging.js';

import type { MembershipLevel } from '../../authz/index.js';

export type { MembershipLevel };

export interface MembershipRow {
  id: string;
  user_id: string;
  level: MembershipLevel;
  org_id: string | null;
  project_id: string | null;
  project_grant_id: string | null;
  roles: string[];
  version: number;
}

export async function insertMembership(scope: Scope, row: Omit<MembershipRow, 'id' | 'version'>): Promise<string> {
  const id = newId();
  await scope.insert('memberships', { id, ...row });
  return id;
}

export async function listMembershipsOfUser(scope: Scope, userId: string): Promise<MembershipRow[]> {
  return scope.table('memberships').where({ user_id: userId });
}

export interface MembershipFilter {
  userId?: string;
  level?: MembershipLevel;
  orgId?: string;
  projectId?: string;
  projectGrantId?: string;
  role?: string;
}

export async function getMembership(scope: Scope, id: string): Promise<MembershipRow | undefined> {
  return scope.table('memberships').where({ id }).first();
}

export async function listMemberships(scope: Scope, f: MembershipFilter = {}): Promise<MembershipRow[]> {
  const q = scope.table('memberships').orderBy('created_at');
  if (f.userId) q.where({ user_id: f.userId });
  if (f.level) q.where({ level: f.level });
  if (f.orgId) q.where({ org_id: f.orgId });
  if (f.projectId) q.where({ project_id: f.projectId });
  if (f.projectGrantId) q.where({ project_grant_id: f.projectGrantId });
  if (f.role) q.whereRaw('? = ANY(roles)', [f.role]);
  return q;
}

export async function updateMembershipRoles(scope: Scope, id: string, roles: string[]): Promise<number> {
  return scope
    .table('memberships')
    .where({ id })
    .update({ roles, ...scope.bump() });
}

export async function deleteMembership(scope: Scope, id: string): Promise<number> {
  return scope.table('memberships').where({ id }).delete();
}

/** Active users other than `exceptUserId` (and outside `exceptOrgId`) holding IAM_OWNER: the instance must keep at least one. */
export async function countOtherIamOwners(scope: Scope, exceptUserId: string, opts: { exceptOrgId?: string } = {}): Promise<number> {
  const row = await scope
    .join(scope.table('memberships', 'm'), 'users as u', (j) => j.on('u.id', 'm.user_id'))
    .where('m.level', 'instance')
    .whereRaw(`'IAM_OWNER' = ANY(m.roles)`)
    .andWhere('u.state', 'active')
    .whereNot('m.user_id', exceptUserId)
    .modify((q) => {
      if (opts.exceptOrgId) q.whereNot('u.org_id', opts.exceptOrgId);
    })
    .countDistinct({ n: 'm.user_id' })
    .first();
  return Number(row?.n ?? 0);
}

/** The owning org of a project, read here so memberships need nothing from the access area. */
export async function projectOwnerOrg(scope: Scope, projectId: string): Promise<string | undefined> {
  return (await scope.table('projects').where({ id: projectId }).first('org_id'))?.org_id;
}

export async function projectGrantRef(scope: Scope, projectGrantId: string): Promise<{ project_id: string; granted_org_id: string } | undefined> {
  return scope.table('project_grants').where({ id: projectGrantId }).first('project_id', 'granted_org_id');
}

/**
 * The memberships that give a user permissions: none while the user is locked or inactive, so a
 * token still in flight for a disabled manager cannot change anything.
 */
export async function listEffectiveMembershipsOfUser(scope: Scope, userId: string): Promise<MembershipRow[]> {
  return scope
    .join(scope.table('memberships', 'm'), 'users as u', (j) => j.on('u.id', 'm.user_id'))
    .where('m.user_id', userId)
    .whereIn('u.state', ['initial', 'active'])
    .select('m.*');
}

/** Sortable API fields of a member list and their columns (a whitelist). */
export const membershipSortColumns = { createdAt: 'created_at', userId: 'user_id' } as const;

/**
 * One page of memberships with the total over the same filters, paged in the database.
 * `withoutProjectGrant` keeps project-level lists to the project's own managers.
 */
export async function pageMemberships(
  scope: Scope,
  f: MembershipFilter & { withoutProjectGrant?: boolean },
  p: PageParams,
): Promise<Page<MembershipRow & { created_at: Date }>> {
  const q = scope.table('memberships');
  if (f.userId) q.where({ user_id: f.userId });
  if (f.level) q.where({ level: f.level });
  if (f.orgId) q.where({ org_id: f.orgId });
  if (f.projectId) q.where({ project_id: f.projectId });
  if (f.projectGrantId) q.where({ project_grant_id: f.projectGrantId });
  if (f.withoutProjectGrant) q.whereNull('project_grant_id');
  if (f.role) q.whereRaw('? = ANY(roles)', [f.role]);
  return pageQuery(q, p, membershipSortColumns, 'created_at', 'id');
}

/** A user's memberships with the name of what each is on (org, project, or project grant's project). */
export async function listMembershipsOfUserNamed(
  scope: Scope,
  userId: string,
): Promise<(MembershipRow & { org_name: string | null; project_name: string | null })[]> {
  const q = scope.leftJoin(scope.table('memberships', 'm'), 'orgs as o', (j) => j.on('o.id', 'm.org_id'));
  return scope
    .leftJoin(q, 'projects as p', (j) => j.on('p.id', 'm.project_id'))
    .where('m.user_id', userId)
    .orderBy('m.level')
    .orderBy('m.id')
    .select('m.*', 'o.name as org_name', 'p.name as project_name');
}
