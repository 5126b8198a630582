import type { Knex } from 'knex';
import type { Scope } from '../../db/scope.js';

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

const on = (a: string, b: string) => function joinOn(this: Knex.JoinClause) {
  this.on(`${a}.instance_id`, `${b}.instance_id`);
};

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
    projectId: r.project_id, orgId: r.org_id, orgPrimaryDomain: r.domain ?? '', roleKeys: r.role_keys,
    userGrantId: r.id, projectGrantId: r.project_grant_id,
  }));
}

/** The query behind activeRoleGrants, exposed so tests can EXPLAIN it. */
export function activeRoleGrantsQuery(scope: Scope, userId: string, projectIds: string[]): Knex.QueryBuilder {
  const raw = scope.db.raw.bind(scope.db);
  return scope.table('user_grants', 'ug')
    .join('projects as p', function j() { on('p', 'ug').call(this); this.andOn('p.id', 'ug.project_id'); })
    .join('orgs as giver', function j() { on('giver', 'ug').call(this); this.andOn('giver.id', 'ug.org_id'); })
    .join('orgs as owner', function j() { on('owner', 'p').call(this); this.andOn('owner.id', 'p.org_id'); })
    .leftJoin('project_grants as pg', function j() { on('pg', 'ug').call(this); this.andOn('pg.id', 'ug.project_grant_id'); })
    .leftJoin('org_domains as od', function j() {
      on('od', 'ug').call(this); this.andOn('od.org_id', 'ug.org_id').andOn('od.is_primary', raw('true'));
    })
    .where('ug.user_id', userId)
    .whereIn('ug.project_id', [...new Set(projectIds)])
    .where('ug.state', 'active')
    .where((q) => q.whereNull('ug.expires_at').orWhere('ug.expires_at', '>', raw('now()')))
    .where('p.state', 'active').where('giver.state', 'active').where('owner.state', 'active')
    .where((q) => q
      .where((own) => own.whereNull('ug.project_grant_id').whereRaw('ug.org_id = p.org_id'))
      .orWhere((via) => via.where('pg.state', 'active').whereRaw('pg.granted_org_id = ug.org_id').whereRaw('pg.project_id = ug.project_id')))
    .orderBy('ug.project_id').orderBy('ug.created_at')
    .select('ug.id', 'ug.project_id', 'ug.org_id', 'ug.project_grant_id', 'ug.expires_at', 'od.domain', raw(`ARRAY(
      SELECT k FROM unnest(ug.role_keys) WITH ORDINALITY AS t(k, n)
      WHERE EXISTS (SELECT 1 FROM project_roles pr WHERE pr.instance_id = ug.instance_id AND pr.project_id = ug.project_id AND pr.key = t.k)
        AND (ug.project_grant_id IS NULL OR t.k = ANY(pg.role_keys))
      ORDER BY t.n) AS role_keys`));
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
