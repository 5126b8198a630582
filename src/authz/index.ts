import { effectiveRoleTable, type MembershipLevel, type Permission } from './roles.js';

export { isPermission, levelOfRole, permissionNames, type MembershipLevel, type Permission } from './roles.js';

/**
 * The one authorization rule, pure: what a holder of some memberships may do. It knows nothing
 * of the database; src/domain/authorization.ts loads the acting user's memberships and asks here.
 */

/**
 * What a permission is checked against. Services describe the resource they touch:
 * - orgId: the org in whose context it lives (for a user grant made via a project grant,
 *   the granted org; for a project or its roles and apps, the owning org);
 * - projectId: the project, for project-level resources (not for grant-side user grants);
 * - projectGrantId: the project grant, for grant-level resources.
 */
export interface Resource {
  orgId?: string;
  projectId?: string;
  projectGrantId?: string;
}

/** A manager's membership as authorization sees it. */
export interface Membership {
  level: MembershipLevel;
  org_id: string | null;
  project_id: string | null;
  project_grant_id: string | null;
  roles: string[];
}

export type RoleTable = Record<string, Set<string>>;

function membershipCovers(m: Membership, r: Resource): boolean {
  switch (m.level) {
    case 'instance':
      return true;
    case 'org':
      return r.orgId !== undefined && r.orgId === m.org_id;
    case 'project':
      return r.projectId !== undefined && r.projectId === m.project_id;
    case 'project_grant':
      return r.projectGrantId !== undefined && r.projectGrantId === m.project_grant_id;
    default:
      return false;
  }
}

const grants = (m: Membership, permission: string, table: RoleTable) => m.roles.some((role) => table[role]?.has(permission));

/** May a holder of these memberships use `permission` on `resource`? Pure: the table is unit-tested. */
export function can(memberships: Membership[], permission: string, resource: Resource, table: RoleTable): boolean {
  return memberships.some((m) => membershipCovers(m, resource) && grants(m, permission, table));
}

/**
 * Which rows of an org a list may show: everything when the permission holds org-wide, else only
 * the projects and project grants the memberships give it on. Repositories apply it as a
 * condition of their query, so paging and totals only ever see visible rows.
 */
export type Visibility = { all: true } | { all: false; projectIds: string[]; projectGrantIds: string[] };

export const everything: Visibility = { all: true };

export function visibility(memberships: Membership[], permission: string, orgId: string, table: RoleTable): Visibility {
  if (can(memberships, permission, { orgId }, table)) return everything;
  return {
    all: false,
    projectIds: memberships.filter((m) => m.level === 'project' && m.project_id && grants(m, permission, table)).map((m) => m.project_id!),
    projectGrantIds: memberships
      .filter((m) => m.level === 'project_grant' && m.project_grant_id && grants(m, permission, table))
      .map((m) => m.project_grant_id!),
  };
}

const tableCache = new WeakMap<object, RoleTable>();
export function roleTableFor(overrides: Record<string, string[]>): RoleTable {
  let t = tableCache.get(overrides);
  if (!t) {
    t = effectiveRoleTable(overrides);
    tableCache.set(overrides, t);
  }
  return t;
}

/** A permission or a list of permissions of which any one will do. */
export type PermissionSpec = Permission | readonly Permission[];
