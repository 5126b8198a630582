import type { Resource } from '../../authz/index.js';
import { authorize } from '../authorization.js';
import { isUniqueViolation, type Scope } from '../../db/scope.js';
import { alreadyExists, DomainError, invalidInput, notFound, ruleViolation } from '../../shared/errors.js';
import { newId } from '../../shared/ids.js';
import { appendEvent } from '../audit/repository.js';
import type { ServiceContext } from '../deps.js';
import { getOrg } from '../org/repository.js';
import { deleteUserGrantsOfProjectGrant } from '../user-grant/repository.js';
import { listProjectRoles, stripRolesFromUserGrants, type ProjectRow } from '../project/repository.js';
import { requireProject } from '../project/service.js';
import { deleteProjectGrantRow, findProjectGrant, getProjectGrant, insertProjectGrant, updateProjectGrantRow, type ProjectGrantRow } from './repository.js';

export { getProjectGrant, findProjectGrant, listProjectGrants, listGrantedProjects, type ProjectGrantRow, type GrantedProject } from './repository.js';

export interface NewProjectGrant {
  projectId: string;
  grantedOrgId: string;
  roleKeys: string[];
  id?: string;
}

/** A project grant as the owner manages it: the owner org, the project and the grant itself. */
export const projectGrantResource = (g: Pick<ProjectGrantRow, 'id' | 'project_id'>, p: Pick<ProjectRow, 'org_id'>): Resource => ({
  orgId: p.org_id,
  projectId: g.project_id,
  projectGrantId: g.id,
});

export function uniqueKeys(keys: string[]): string[] {
  if (!Array.isArray(keys) || keys.some((k) => typeof k !== 'string' || !k)) throw invalidInput('roleKeys must be a list of role keys');
  return [...new Set(keys)];
}

/** Throws `reason` unless every key is among `available`. */
export function requireSubset(keys: string[], available: Iterable<string>, reason: string, what: string): void {
  const allowed = new Set(available);
  const missing = keys.filter((k) => !allowed.has(k));
  if (missing.length) throw ruleViolation(reason, `${missing.join(', ')} ${missing.length === 1 ? 'is' : 'are'} not among ${what}`, { missing });
}

async function projectRoleKeys(scope: Scope, projectId: string): Promise<string[]> {
  return (await listProjectRoles(scope, projectId)).map((r) => r.key);
}

/**
 * Locks in one order everywhere, project before grant before user grant, so concurrent
 * writers (role removal locks the project exclusively) wait instead of deadlocking.
 */
async function requireGrant(scope: Scope, id: string): Promise<{ grant: ProjectGrantRow; project: ProjectRow }> {
  const seen = await getProjectGrant(scope, id);
  if (!seen) throw notFound('project grant', id);
  const project = await requireProject(scope, seen.project_id, 'share');
  const grant = await getProjectGrant(scope, id, 'update');
  if (!grant) throw notFound('project grant', id);
  return { grant, project };
}

/**
 * Grants a project to another org with a subset of its roles. Refused for the project's own
 * org and for an org that already holds a grant of it.
 */
export async function grantProject(ctx: ServiceContext, input: NewProjectGrant): Promise<{ id: string }> {
  const roleKeys = uniqueKeys(input.roleKeys);
  const id = input.id ?? newId();
  await ctx.scope.transaction(async (scope) => {
    const project = await requireProject(scope, input.projectId, 'share');
    await authorize({ ...ctx, scope }, 'project.grant.write', { orgId: project.org_id, projectId: project.id });
    if (input.grantedOrgId === project.org_id) {
      throw ruleViolation('project_grant.own_org', 'a project cannot be granted to the org that owns it');
    }
    if (!(await getOrg(scope, input.grantedOrgId))) throw notFound('org', input.grantedOrgId);
    const exists = () => alreadyExists('project_grant.exists', `project ${project.id} is already granted to org ${input.grantedOrgId}`);
    if (await findProjectGrant(scope, project.id, input.grantedOrgId)) throw exists();
    requireSubset(roleKeys, await projectRoleKeys(scope, project.id), 'project_grant.roles_not_subset', "the project's roles");
    try {
      await insertProjectGrant(scope, { id, project_id: project.id, granted_org_id: input.grantedOrgId, role_keys: roleKeys });
    } catch (err) {
      if (isUniqueViolation(err, 'project_grants_instance_id_project_id_granted_org_id_unique')) throw exists();
      throw err;
    }
    await appendEvent(scope, ctx.actor, {
      orgId: project.org_id,
      resourceType: 'project_grant',
      resourceId: id,
      type: 'project.grant.added',
      payload: { projectId: project.id, grantedOrgId: input.grantedOrgId, roleKeys },
    });
  });
  return { id };
}

/**
 * Replaces the grant's roles. Roles dropped here are removed, in the same transaction, from
 * every user grant the granted org made under this grant.
 */
export async function updateProjectGrantRoles(ctx: ServiceContext, grantId: string, roleKeys: string[]): Promise<void> {
  const keys = uniqueKeys(roleKeys);
  await ctx.scope.transaction(async (scope) => {
    const { grant, project } = await requireGrant(scope, grantId);
    await authorize({ ...ctx, scope }, 'project.grant.write', projectGrantResource(grant, project));
    requireSubset(keys, await projectRoleKeys(scope, project.id), 'project_grant.roles_not_subset', "the project's roles");
    const dropped = grant.role_keys.filter((k) => !keys.includes(k));
    await updateProjectGrantRow(scope, grantId, { role_keys: keys });
    const userGrantsChanged = dropped.length ? await stripRolesFromUserGrants(scope, project.id, dropped, grantId) : 0;
    await appendEvent(scope, ctx.actor, {
      orgId: project.org_id,
      resourceType: 'project_grant',
      resourceId: grantId,
      type: 'project.grant.changed',
      payload: { projectId: project.id, grantedOrgId: grant.granted_org_id, roleKeys: keys, removedRoleKeys: dropped, userGrantsChanged },
    });
  });
}

async function setState(ctx: ServiceContext, grantId: string, to: 'active' | 'inactive'): Promise<void> {
  await ctx.scope.transaction(async (scope) => {
    const { grant, project } = await requireGrant(scope, grantId);
    await authorize({ ...ctx, scope }, 'project.grant.write', projectGrantResource(grant, project));
    if (grant.state === to) {
      throw new DomainError(
        'precondition_failed',
        `project grant ${grantId} is already ${to}`,
        to === 'active' ? 'project_grant.already_active' : 'project_grant.not_active',
      );
    }
    await updateProjectGrantRow(scope, grantId, { state: to });
    await appendEvent(scope, ctx.actor, {
      orgId: project.org_id,
      resourceType: 'project_grant',
      resourceId: grantId,
      type: to === 'active' ? 'project.grant.reactivated' : 'project.grant.deactivated',
      payload: { projectId: project.id, grantedOrgId: grant.granted_org_id },
    });
  });
}

/** While inactive, the grant's user grants stay stored but give no roles, and the org can give no new ones. */
export const deactivateProjectGrant = (ctx: ServiceContext, grantId: string) => setState(ctx, grantId, 'inactive');
export const reactivateProjectGrant = (ctx: ServiceContext, grantId: string) => setState(ctx, grantId, 'active');

/** Removes the grant; every user grant made under it (and its grant-level memberships) goes with it. */
export async function removeProjectGrant(ctx: ServiceContext, grantId: string): Promise<void> {
  await ctx.scope.transaction(async (scope) => {
    const { grant, project } = await requireGrant(scope, grantId);
    await authorize({ ...ctx, scope }, 'project.grant.delete', projectGrantResource(grant, project));
    // Explicit rather than left to ON DELETE CASCADE alone, so the event can say how many went.
    const userGrantsRemoved = await deleteUserGrantsOfProjectGrant(scope, grantId);
    await deleteProjectGrantRow(scope, grantId);
    await appendEvent(scope, ctx.actor, {
      orgId: project.org_id,
      resourceType: 'project_grant',
      resourceId: grantId,
      type: 'project.grant.removed',
      payload: { projectId: project.id, grantedOrgId: grant.granted_org_id, userGrantsRemoved },
    });
  });
}
