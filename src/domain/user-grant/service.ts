import type { Permission, Resource } from '../../authz/index.js';
import { authorize } from '../authorization.js';
import { isUniqueViolation, type Scope } from '../../db/scope.js';
import { alreadyExists, DomainError, invalidInput, notFound, ruleViolation } from '../../shared/errors.js';
import { newId } from '../../shared/ids.js';
import { appendEvent } from '../audit/repository.js';
import type { ServiceContext } from '../deps.js';
import { findProjectGrant, getProjectGrant } from '../project-grant/repository.js';
import { requireSubset, uniqueKeys } from '../project-grant/service.js';
import { listProjectRoles, type ProjectRow } from '../project/repository.js';
import { requireProject } from '../project/service.js';
import { getUser } from '../user/repository.js';
import { deleteUserGrantRow, findUserGrant, getUserGrant, insertUserGrant, updateUserGrantRow, type UserGrantRow } from './repository.js';

export { getUserGrant, findUserGrant, listUserGrants, type UserGrantRow, type UserGrantFilter } from './repository.js';

export interface NewUserGrant {
  userId: string;
  projectId: string;
  /** The giving org: the project's owner, or an org holding an active grant of the project. */
  orgId: string;
  roleKeys: string[];
  expiresAt?: Date | null;
  id?: string;
}

/**
 * Where a user grant lives for authorization. One given via a project grant belongs to the
 * granted org and that grant, deliberately without projectId: the owner's project managers do
 * not manage another org's authorizations.
 */
export const userGrantResource = (g: Pick<UserGrantRow, 'org_id' | 'project_id' | 'project_grant_id'>): Resource =>
  g.project_grant_id ? { orgId: g.org_id, projectGrantId: g.project_grant_id } : { orgId: g.org_id, projectId: g.project_id };

/** The roles `orgId` may hand out on the project, and the project grant it gives them through (if any). */
async function givable(
  scope: Scope,
  project: ProjectRow,
  orgId: string,
  requireActive: boolean,
): Promise<{ roleKeys: string[]; projectGrantId: string | null } | undefined> {
  const projectRoles = (await listProjectRoles(scope, project.id)).map((r) => r.key);
  if (orgId === project.org_id) return { roleKeys: projectRoles, projectGrantId: null };
  const grant = await findProjectGrant(scope, project.id, orgId, 'share');
  if (!grant || (requireActive && grant.state !== 'active')) return undefined;
  return { roleKeys: grant.role_keys.filter((k) => projectRoles.includes(k)), projectGrantId: grant.id };
}

function checkExpiry(expiresAt: Date | null | undefined): void {
  if (expiresAt == null) return;
  if (!(expiresAt instanceof Date) || Number.isNaN(expiresAt.getTime())) throw invalidInput('expiresAt must be a date');
  if (expiresAt.getTime() <= Date.now()) throw new DomainError('invalid_input', 'expiresAt must lie in the future', 'user_grant.expiry_in_past');
}

/**
 * Gives a user (of any org in the instance) roles on a project. The owner may give any of the
 * project's roles; a granted org only its active grant's roles, and the user grant records
 * the project grant it was made under.
 */
export async function addUserGrant(ctx: ServiceContext, input: NewUserGrant): Promise<{ id: string }> {
  const roleKeys = uniqueKeys(input.roleKeys);
  checkExpiry(input.expiresAt);
  const id = input.id ?? newId();
  await ctx.scope.transaction(async (scope) => {
    const tctx = { ...ctx, scope };
    const project = await requireProject(scope, input.projectId, 'share');
    const from = await givable(scope, project, input.orgId, true);
    if (!from) {
      // Authorize against the org itself first, so outsiders learn nothing about its grants.
      await authorize(tctx, 'user.grant.write', { orgId: input.orgId });
      throw ruleViolation('user_grant.org_not_granted', `org ${input.orgId} neither owns project ${project.id} nor holds an active grant of it`);
    }
    await authorize(tctx, 'user.grant.write', userGrantResource({ org_id: input.orgId, project_id: project.id, project_grant_id: from.projectGrantId }));
    if (!(await getUser(scope, input.userId))) throw notFound('user', input.userId);
    requireSubset(roleKeys, from.roleKeys, 'user_grant.roles_not_subset', 'the roles the org may give');
    const exists = () => alreadyExists('user_grant.exists', `the user already holds a grant of org ${input.orgId} on project ${project.id}`);
    if (await findUserGrant(scope, input.userId, project.id, input.orgId)) throw exists();
    try {
      await insertUserGrant(scope, {
        id,
        user_id: input.userId,
        project_id: project.id,
        org_id: input.orgId,
        project_grant_id: from.projectGrantId,
        role_keys: roleKeys,
        expires_at: input.expiresAt ?? null,
      });
    } catch (err) {
      if (isUniqueViolation(err, 'user_grants_instance_id_user_id_project_id_org_id_unique')) throw exists();
      throw err;
    }
    await appendEvent(scope, ctx.actor, {
      orgId: input.orgId,
      resourceType: 'user_grant',
      resourceId: id,
      type: 'user.grant.added',
      payload: { userId: input.userId, projectId: project.id, projectGrantId: from.projectGrantId, roleKeys, expiresAt: input.expiresAt ?? null },
    });
  });
  return { id };
}

async function requireUserGrant(ctx: ServiceContext, id: string, permission: Permission): Promise<UserGrantRow> {
  // Project, then project grant, then user grant: the lock order every access writer follows.
  const seen = await getUserGrant(ctx.scope, id);
  if (!seen) throw notFound('user grant', id);
  await requireProject(ctx.scope, seen.project_id, 'share');
  if (seen.project_grant_id) await getProjectGrant(ctx.scope, seen.project_grant_id, 'share');
  const grant = await getUserGrant(ctx.scope, id, 'update');
  if (!grant) throw notFound('user grant', id);
  await authorize(ctx, permission, userGrantResource(grant));
  return grant;
}

/** Changes roles and/or expiry (null clears it); roles stay within what the giving org may give. */
export async function updateUserGrant(ctx: ServiceContext, id: string, patch: { roleKeys?: string[]; expiresAt?: Date | null }): Promise<void> {
  const roleKeys = patch.roleKeys === undefined ? undefined : uniqueKeys(patch.roleKeys);
  checkExpiry(patch.expiresAt);
  await ctx.scope.transaction(async (scope) => {
    const grant = await requireUserGrant({ ...ctx, scope }, id, 'user.grant.write');
    const row: Partial<UserGrantRow> = {};
    if (roleKeys) {
      const project = await requireProject(scope, grant.project_id, 'share');
      const from = await givable(scope, project, grant.org_id, false);
      requireSubset(roleKeys, from?.roleKeys ?? [], 'user_grant.roles_not_subset', 'the roles the org may give');
      row.role_keys = roleKeys;
    }
    if (patch.expiresAt !== undefined) row.expires_at = patch.expiresAt;
    if (Object.keys(row).length) await updateUserGrantRow(scope, id, row);
    await appendEvent(scope, ctx.actor, {
      orgId: grant.org_id,
      resourceType: 'user_grant',
      resourceId: id,
      type: 'user.grant.changed',
      payload: {
        userId: grant.user_id,
        projectId: grant.project_id,
        ...(roleKeys ? { roleKeys } : {}),
        ...(patch.expiresAt !== undefined ? { expiresAt: patch.expiresAt } : {}),
      },
    });
  });
}

async function setState(ctx: ServiceContext, id: string, to: 'active' | 'inactive'): Promise<void> {
  await ctx.scope.transaction(async (scope) => {
    const grant = await requireUserGrant({ ...ctx, scope }, id, 'user.grant.write');
    if (grant.state === to) {
      throw new DomainError(
        'precondition_failed',
        `user grant ${id} is already ${to}`,
        to === 'active' ? 'user_grant.already_active' : 'user_grant.not_active',
      );
    }
    await updateUserGrantRow(scope, id, { state: to });
    await appendEvent(scope, ctx.actor, {
      orgId: grant.org_id,
      resourceType: 'user_grant',
      resourceId: id,
      type: to === 'active' ? 'user.grant.reactivated' : 'user.grant.deactivated',
      payload: { userId: grant.user_id, projectId: grant.project_id },
    });
  });
}

export const deactivateUserGrant = (ctx: ServiceContext, id: string) => setState(ctx, id, 'inactive');
export const reactivateUserGrant = (ctx: ServiceContext, id: string) => setState(ctx, id, 'active');

export async function removeUserGrant(ctx: ServiceContext, id: string): Promise<void> {
  await ctx.scope.transaction(async (scope) => {
    const grant = await requireUserGrant({ ...ctx, scope }, id, 'user.grant.delete');
    await deleteUserGrantRow(scope, id);
    await appendEvent(scope, ctx.actor, {
      orgId: grant.org_id,
      resourceType: 'user_grant',
      resourceId: id,
      type: 'user.grant.removed',
      payload: { userId: grant.user_id, projectId: grant.project_id, projectGrantId: grant.project_grant_id, roleKeys: grant.role_keys },
    });
  });
}
