import { memoized } from '../db/request-memo.js';
import type { Scope } from '../db/scope.js';
import { getUserMetadata, listMachineKeys, type UserRow } from '../domain/user/repository.js';
import { findUserByLoginName, getMachineByClientId } from '../domain/user/login-name-repository.js';
import { findApplicationByClientId, type ApplicationRow } from '../domain/project/repository.js';
import { activeRoleGrants as domainRoleGrants, activeRoleGrantsQuery, userHasProjectAccess } from '../domain/user-grant/repository.js';

/**
 * The reads the OpenID Provider needs, in one place: mostly the domain's own queries (so the
 * provider and the APIs agree on login names, grants and machines), plus the few only OIDC needs.
 */

export type { ApplicationRow };

export interface ProjectSettings {
  id: string;
  org_id: string;
  name: string;
  state: string;
  project_role_assertion: boolean;
  project_role_check: boolean;
  has_project_check: boolean;
}

export function applicationByClientId(scope: Scope, clientId: string): Promise<ApplicationRow | undefined> {
  return findApplicationByClientId(scope, clientId);
}

/** Machine users authenticate with their username (or a login name) as client id, as in ZITADEL, or their user id. */
export async function machineByClientId(scope: Scope, clientId: string): Promise<UserRow | undefined> {
  return (await getMachineByClientId(scope, clientId)) ?? scope.table('users').where({ id: clientId, type: 'machine' }).first();
}

export async function machineKeys(scope: Scope, userId: string): Promise<{ id: string; public_jwk: Record<string, unknown>; expires_at: Date | null }[]> {
  return listMachineKeys(scope, userId);
}

export async function projectSettings(scope: Scope, projectId: string): Promise<ProjectSettings | undefined> {
  return scope
    .table('projects')
    .where({ id: projectId })
    .first('id', 'org_id', 'name', 'state', 'project_role_assertion', 'project_role_check', 'has_project_check');
}

/** The user by id, read at most once per HTTP request (src/db/request-memo.ts): several provider hooks ask. */
export async function userById(scope: Scope, id: string): Promise<UserRow | undefined> {
  return memoized(scope, 'users', id, () => scope.table('users').where({ id }).first());
}

/** Login names resolve as in ZITADEL: an exact login name across the instance first, then a verified email. */
export function userByLoginName(scope: Scope, loginName: string): Promise<UserRow | undefined> {
  return findUserByLoginName(scope, loginName);
}

export async function orgSummary(scope: Scope, orgId: string): Promise<{ id: string; name: string; primaryDomain: string } | undefined> {
  const row = await scope
    .table('orgs', 'o')
    .leftJoin('org_domains as d', function joinPrimary() {
      this.on('d.instance_id', 'o.instance_id').andOn('d.org_id', 'o.id').andOnVal('d.is_primary', true);
    })
    .where('o.id', orgId)
    .first('o.id', 'o.name', 'd.domain');
  return row ? { id: row.id, name: row.name, primaryDomain: row.domain ?? '' } : undefined;
}

export interface RoleGrant {
  projectId: string;
  orgId: string;
  orgPrimaryDomain: string;
  roleKeys: string[];
}

/** A user with their role grants, as userinfo reads them (and the claims cache keeps them). */
export interface AccountReads {
  user?: UserRow;
  grants: RoleGrant[];
  /** epoch ms when the earliest grant expires */ validUntil?: number;
}

/** The user's active, unexpired grants on these projects (index-backed: cost follows the user's own grants). */
export function activeRoleGrants(scope: Scope, userId: string, projectIds: string[]): Promise<RoleGrant[]> {
  return domainRoleGrants(scope, userId, projectIds);
}

/**
 * The user and their active role grants on these projects in one statement (one round trip
 * instead of two on userinfo): the grants are activeRoleGrants' own query, as a subquery.
 * validUntil is when the earliest of those grants expires, for whoever keeps the answer.
 */
export async function userWithRoleGrants(scope: Scope, id: string, projectIds: string[]): Promise<AccountReads> {
  if (projectIds.length === 0) return { user: await userById(scope, id), grants: [] };
  const sub = activeRoleGrantsQuery(scope, id, projectIds);
  const row = await scope
    .table('users')
    .where('users.id', id)
    .first('users.*', scope.expression(`(SELECT coalesce(json_agg(g), '[]'::json) FROM (?) g) AS tessera_role_grants`, [sub]));
  if (!row) return { user: undefined, grants: [] };
  type Raw = { project_id: string; org_id: string; domain: string | null; role_keys: string[]; expires_at: string | null };
  const { tessera_role_grants: raw, ...user } = row as UserRow & { tessera_role_grants: Raw[] };
  const expiries = raw.filter((r) => r.expires_at).map((r) => Date.parse(r.expires_at!));
  return {
    user: user as UserRow,
    grants: raw.map((r) => ({ projectId: r.project_id, orgId: r.org_id, orgPrimaryDomain: r.domain ?? '', roleKeys: r.role_keys })),
    validUntil: expiries.length ? Math.min(...expiries) : undefined,
  };
}

/** Does the user's org own the project or hold an active grant for it? (hasProjectCheck) */
export function orgHasProject(scope: Scope, user: Pick<UserRow, 'id' | 'org_id'>, projectId: string): Promise<boolean> {
  return userHasProjectAccess(scope, { userId: user.id, userOrgId: user.org_id, projectId });
}

export function userMetadata(scope: Scope, userId: string): Promise<Record<string, string>> {
  return getUserMetadata(scope, userId);
}
