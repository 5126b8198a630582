import { authorize } from '../authorization.js';
import { isUniqueViolation } from '../../db/scope.js';
import { alreadyExists, DomainError, invalidInput, notFound } from '../../shared/errors.js';
import { appendEvent } from '../audit/repository.js';
import type { ServiceContext } from '../deps.js';
import {
  deleteProjectRoleRow,
  getProjectRole,
  insertProjectRole,
  stripRolesFromProjectGrants,
  stripRolesFromUserGrants,
  updateProjectRoleRow,
} from './repository.js';
import { projectResource, requireProject } from './service.js';

export { listProjectRoles, getProjectRole, type ProjectRoleRow } from './repository.js';

export interface NewProjectRole {
  key: string;
  displayName: string;
  group?: string | null;
}

// Keys travel in scopes (urn:zitadel:iam:org:project:role:{key}) and claims: no whitespace.
const keyPattern = /^[^\s]{1,200}$/;

function checkRole(r: { key?: string; displayName?: string; group?: string | null }): void {
  if (r.key !== undefined && !keyPattern.test(r.key)) throw invalidInput('a role key must be 1 to 200 characters without whitespace', { key: r.key });
  if (r.displayName !== undefined && (!r.displayName.trim() || r.displayName.length > 200)) {
    throw invalidInput('a role display name must be 1 to 200 characters');
  }
  if (r.group != null && r.group.length > 200) throw invalidInput('a role group must be at most 200 characters');
}

export async function addProjectRole(ctx: ServiceContext, projectId: string, role: NewProjectRole): Promise<void> {
  checkRole(role);
  await ctx.scope.transaction(async (scope) => {
    const p = await requireProject(scope, projectId, 'share');
    await authorize({ ...ctx, scope }, 'project.role.write', projectResource(p));
    const taken = () => alreadyExists('project_role.key_taken', `project ${projectId} already has a role ${role.key}`);
    if (await getProjectRole(scope, projectId, role.key)) throw taken();
    try {
      await insertProjectRole(scope, { project_id: projectId, key: role.key, display_name: role.displayName, group: role.group ?? null });
    } catch (err) {
      if (isUniqueViolation(err)) throw taken(); // a concurrent add won the race
      throw err;
    }
    await appendEvent(scope, ctx.actor, {
      orgId: p.org_id,
      resourceType: 'project',
      resourceId: projectId,
      type: 'project.role.added',
      payload: { key: role.key, displayName: role.displayName, group: role.group ?? null },
    });
  });
}

/**
 * Changes a role's display name and group. Roles carry no version: a caller that shows a form
 * passes the values it showed as `seen`, and the change is refused (precondition_failed) if the
 * role no longer has them, so nobody overwrites a change they did not see.
 */
export async function updateProjectRole(
  ctx: ServiceContext,
  projectId: string,
  key: string,
  patch: { displayName?: string; group?: string | null },
  seen?: { displayName: string; group: string | null },
): Promise<void> {
  checkRole(patch);
  await ctx.scope.transaction(async (scope) => {
    const p = await requireProject(scope, projectId, 'share');
    await authorize({ ...ctx, scope }, 'project.role.write', projectResource(p));
    const row: { display_name?: string; group?: string | null } = {};
    if (patch.displayName !== undefined) row.display_name = patch.displayName;
    if (patch.group !== undefined) row.group = patch.group;
    const current = await getProjectRole(scope, projectId, key, 'update');
    if (!current) throw notFound('project role', key);
    if (seen && (current.display_name !== seen.displayName || (current.group ?? null) !== (seen.group ?? null))) {
      throw new DomainError('precondition_failed', `role ${key} was changed meanwhile`, 'precondition_failed');
    }
    if (Object.keys(row).length) await updateProjectRoleRow(scope, projectId, key, row);
    await appendEvent(scope, ctx.actor, {
      orgId: p.org_id,
      resourceType: 'project',
      resourceId: projectId,
      type: 'project.role.changed',
      payload: { key, ...patch },
    });
  });
}

/**
 * Removes a role and, in the same transaction, the key from every project grant and user grant
 * of the project. The project row is locked so no grant can pick up the key meanwhile.
 */
export async function removeProjectRole(ctx: ServiceContext, projectId: string, key: string): Promise<void> {
  await ctx.scope.transaction(async (scope) => {
    const p = await requireProject(scope, projectId, 'update');
    await authorize({ ...ctx, scope }, 'project.role.delete', projectResource(p));
    if (!(await deleteProjectRoleRow(scope, projectId, key))) throw notFound('project role', key);
    const projectGrants = await stripRolesFromProjectGrants(scope, projectId, [key]);
    const userGrants = await stripRolesFromUserGrants(scope, projectId, [key]);
    await appendEvent(scope, ctx.actor, {
      orgId: p.org_id,
      resourceType: 'project',
      resourceId: projectId,
      type: 'project.role.removed',
      payload: { key, projectGrantsChanged: projectGrants, userGrantsChanged: userGrants },
    });
  });
}

/** Convenience for callers that add several roles at once (CLI apply, seed). */
export async function addProjectRoles(ctx: ServiceContext, projectId: string, roles: NewProjectRole[]): Promise<void> {
  await ctx.scope.transaction(async (scope) => {
    for (const r of roles) await addProjectRole({ ...ctx, scope }, projectId, r);
  });
}
