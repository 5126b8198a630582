import { can, everything, roleTableFor, visibility, type Permission, type Resource, type Visibility } from '../authz/index.js';
import { permissionDenied } from '../shared/errors.js';
import type { ServiceContext } from './deps.js';
import { listEffectiveMembershipsOfUser, type MembershipRow } from './membership/repository.js';

/**
 * Every service and query authorizes through these functions: they load the acting user's
 * memberships and ask the pure rule in src/authz. System and CLI callers may do anything.
 * Each permission consulted is noted on the context (ctx.checked), which is how the API's route
 * helper holds a route to the permission it documents.
 */

function note(ctx: ServiceContext, permission: Permission): void {
  ctx.checked?.add(permission);
}

/** The acting user's memberships: once per read-only request (ctx.readOnlyRequest), else read each time. */
function membershipsOf(ctx: ServiceContext, userId: string): Promise<MembershipRow[]> {
  const memo = ctx.readOnlyRequest;
  if (!memo) return listEffectiveMembershipsOfUser(ctx.scope, userId);
  memo.memberships ??= listEffectiveMembershipsOfUser(ctx.scope, userId);
  return memo.memberships as Promise<MembershipRow[]>;
}

/** Throws permission_denied unless the acting principal may use `permission` on `resource`. */
export async function authorize(ctx: ServiceContext, permission: Permission, resource: Resource): Promise<void> {
  if (!(await isAllowed(ctx, permission, resource))) throw permissionDenied(permission);
}

export async function isAllowed(ctx: ServiceContext, permission: Permission, resource: Resource): Promise<boolean> {
  note(ctx, permission);
  if (ctx.actor.type !== 'user') return true;
  const memberships = await membershipsOf(ctx, ctx.actor.userId);
  return can(memberships, permission, resource, roleTableFor(ctx.deps.config.roles));
}

/** What of org `orgId` a list needing `permission` may show the actor (see Visibility in src/authz). */
export async function visibleIn(ctx: ServiceContext, permission: Permission, orgId: string): Promise<Visibility> {
  note(ctx, permission);
  if (ctx.actor.type !== 'user') return everything;
  const memberships = await membershipsOf(ctx, ctx.actor.userId);
  return visibility(memberships, permission, orgId, roleTableFor(ctx.deps.config.roles));
}

/**
 * What the actor may do, read once: for pages that show or hide many actions (the console's
 * navigation and buttons) without a membership query per check. The same rule as authorize.
 */
export interface Permissions {
  /** may use `permission` on `resource` */
  can(permission: Permission, resource: Resource): boolean;
  /** holds `permission` on the org itself or on something in it (a project, a grant it received) */
  canSomewhereIn(permission: Permission, orgId: string): boolean;
  /** the orgs the actor's memberships reach; 'all' for instance-level managers and the system */
  orgIds: string[] | 'all';
}

export async function permissionsOf(ctx: ServiceContext): Promise<Permissions> {
  const noted = (permission: Permission) => {
    note(ctx, permission);
    return true;
  };
  if (ctx.actor.type !== 'user') return { can: noted, canSomewhereIn: noted, orgIds: 'all' };
  const memberships = await membershipsOf(ctx, ctx.actor.userId);
  const table = roleTableFor(ctx.deps.config.roles);
  return {
    can: (permission, resource) => noted(permission) && can(memberships, permission, resource, table),
    canSomewhereIn: (permission, orgId) =>
      noted(permission) && memberships.some((m) => (m.level === 'instance' || m.org_id === orgId) && m.roles.some((role) => table[role]?.has(permission))),
    orgIds: memberships.some((m) => m.level === 'instance') ? 'all' : [...new Set(memberships.map((m) => m.org_id).filter((id): id is string => Boolean(id)))],
  };
}
