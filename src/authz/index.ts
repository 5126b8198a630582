import type { ServiceContext } from '../domain/deps.js';
import { listEffectiveMembershipsOfUser, type MembershipRow } from '../domain/membership/repository.js';
import { permissionDenied } from '../shared/errors.js';
import { effectiveRoleTable } from './roles.js';

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

export type RoleTable = Record<string, Set<string>>;

function membershipCovers(m: Pick<MembershipRow, 'level' | 'org_id' | 'project_id' | 'project_grant_id'>, r: Resource): boolean {
  switch (m.level) {
    case 'instance': return true;
    case 'org': return r.orgId !== undefined && r.orgId === m.org_id;
    case 'project': return r.projectId !== undefined && r.projectId === m.project_id;
    case 'project_grant': return r.projectGrantId !== undefined && r.projectGrantId === m.project_grant_id;
    default: return false;
  }
}

/** May a holder of these memberships use `permission` on `resource`? Pure: the table is unit-tested. */
export function can(
  memberships: Pick<MembershipRow, 'level' | 'org_id' | 'project_id' | 'project_grant_id' | 'roles'>[],
  permission: string, resource: Resource, table: RoleTable,
): boolean {
  return memberships.some((m) => membershipCovers(m, resource) && m.roles.some((role) => table[role]?.has(permission)));
}

const tableCache = new WeakMap<object, RoleTable>();
export function roleTableFor(overrides: Record<string, string[]>): RoleTable {
  let t = tableCache.get(overrides);
  if (!t) { t = effectiveRoleTable(overrides); tableCache.set(overrides, t); }
  return t;
}

/** Throws permission_denied unless the acting principal may do this. System and CLI callers may do anything. */
export async function authorize(ctx: ServiceContext, permission: string, resource: Resource): Promise<void> {
  if (!(await isAllowed(ctx, permission, resource))) throw permissionDenied(permission);
}

export async function isAllowed(ctx: ServiceContext, permission: string, resource: Resource): Promise<boolean> {
  if (ctx.actor.type !== 'user') return true;
  const memberships = await listEffectiveMembershipsOfUser(ctx.scope, ctx.actor.userId);
  return can(memberships, permission, resource, roleTableFor(ctx.deps.config.roles));
}
