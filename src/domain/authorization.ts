import { can, everything, roleTableFor, visibility, type Permission, type Resource, type Visibility } from '../authz/index.js';
import { permissionDenied } from '../shared/errors.js';
import type { ServiceContext } from './deps.js';
import { listEffectiveMembershipsOfUser } from './membership/repository.js';

/**
 * Every service and query authorizes through these functions: they load the acting user's
 * memberships and ask the pure rule in src/authz. System and CLI callers may do anything.
 * Each permission consulted is noted on the context (ctx.checked), which is how the API's route
 * helper holds a route to the permission it documents.
 */

function note(ctx: ServiceContext, permission: Permission): void {
  ctx.checked?.add(permission);
}

/** Throws permission_denied unless the acting principal may use `permission` on `resource`. */
export async function authorize(ctx: ServiceContext, permission: Permission, resource: Resource): Promise<void> {
  if (!(await isAllowed(ctx, permission, resource))) throw permissionDenied(permission);
}

export async function isAllowed(ctx: ServiceContext, permission: Permission, resource: Resource): Promise<boolean> {
  note(ctx, permission);
  if (ctx.actor.type !== 'user') return true;
  const memberships = await listEffectiveMembershipsOfUser(ctx.scope, ctx.actor.userId);
  return can(memberships, permission, resource, roleTableFor(ctx.deps.config.roles));
}

/** What of org `orgId` a list needing `permission` may show the actor (see Visibility in src/authz). */
export async function visibleIn(ctx: ServiceContext, permission: Permission, orgId: string): Promise<Visibility> {
  note(ctx, permission);
  if (ctx.actor.type !== 'user') return everything;
  const memberships = await listEffectiveMembershipsOfUser(ctx.scope, ctx.actor.userId);
  return visibility(memberships, permission, orgId, roleTableFor(ctx.deps.config.roles));
}
