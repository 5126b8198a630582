import { can, levelOfRole, roleTableFor, type Permission, type Resource } from '../../authz/index.js';
import { authorize } from '../authorization.js';
import type { Scope } from '../../db/scope.js';
import { isUniqueViolation } from '../../db/scope.js';
import { alreadyExists, invalidInput, notFound, permissionDenied, ruleViolation } from '../../shared/errors.js';
import { appendEvent } from '../audit/repository.js';
import type { ServiceContext } from '../deps.js';
import { getOrg } from '../org/repository.js';
import { getUser } from '../user/repository.js';
import {
  countOtherIamOwners,
  deleteMembership,
  getMembership,
  insertMembership,
  listEffectiveMembershipsOfUser,
  listMemberships,
  listMembershipsOfUser,
  projectGrantRef,
  projectOwnerOrg,
  updateMembershipRoles,
  type MembershipFilter,
  type MembershipLevel,
  type MembershipRow,
} from './repository.js';

export { listMemberships as listMembers } from './repository.js';
export type { MembershipFilter, MembershipRow } from './repository.js';

const writePermission: Record<MembershipLevel, Permission> = {
  instance: 'iam.member.write',
  org: 'org.member.write',
  project: 'project.member.write',
  project_grant: 'project.grant.member.write',
};

export interface MemberTarget {
  level: MembershipLevel;
  orgId?: string | null;
  projectId?: string | null;
  projectGrantId?: string | null;
}

function checkRoles(ctx: ServiceContext, level: MembershipLevel, roles: string[]): string[] {
  const unique = [...new Set(roles)];
  if (unique.length === 0) throw invalidInput('a membership needs at least one role');
  const table = roleTableFor(ctx.deps.config.roles);
  for (const role of unique) {
    if (!table[role]) throw ruleViolation('membership.unknown_role', `${role} is not a manager role`, { role });
    if (levelOfRole(role) !== level) throw ruleViolation('membership.role_level', `${role} cannot be held at ${level} level`, { role, level });
  }
  return unique;
}

/**
 * Resolves the resource a membership is on: checks it exists and returns what authorization
 * looks at. Grant-level memberships live in the project owner's context, like the grant itself.
 */
async function resolveTarget(scope: Scope, t: MemberTarget): Promise<{ row: Omit<MembershipRow, 'id' | 'version' | 'user_id' | 'roles'>; resource: Resource }> {
  switch (t.level) {
    case 'instance':
      return { row: { level: 'instance', org_id: null, project_id: null, project_grant_id: null }, resource: {} };
    case 'org': {
      if (!t.orgId || !(await getOrg(scope, t.orgId))) throw notFound('org', t.orgId ?? '');
      return { row: { level: 'org', org_id: t.orgId, project_id: null, project_grant_id: null }, resource: { orgId: t.orgId } };
    }
    case 'project': {
      const owner = t.projectId ? await projectOwnerOrg(scope, t.projectId) : undefined;
      if (!owner) throw notFound('project', t.projectId ?? '');
      return {
        row: { level: 'project', org_id: owner, project_id: t.projectId!, project_grant_id: null },
        resource: { orgId: owner, projectId: t.projectId! },
      };
    }
    case 'project_grant': {
      const grant = t.projectGrantId ? await projectGrantRef(scope, t.projectGrantId) : undefined;
      if (!grant || (t.projectId && t.projectId !== grant.project_id)) throw notFound('project grant', t.projectGrantId ?? '');
      const owner = (await projectOwnerOrg(scope, grant.project_id))!;
      return {
        row: { level: 'project_grant', org_id: grant.granted_org_id, project_id: grant.project_id, project_grant_id: t.projectGrantId! },
        resource: { orgId: owner, projectId: grant.project_id, projectGrantId: t.projectGrantId! },
      };
    }
    default:
      throw invalidInput(`unknown membership level ${String(t.level)}`);
  }
}

/**
 * Makes a user a manager. Adding at a level needs that level's *.member.write on the resource,
 * so nobody hands out a level above their own (an ORG_OWNER cannot add an IAM_OWNER).
 */
export async function addMember(ctx: ServiceContext, input: MemberTarget & { userId: string; roles: string[] }): Promise<{ id: string }> {
  const roles = checkRoles(ctx, input.level, input.roles);
  const { row, resource } = await resolveTarget(ctx.scope, input);
  await authorize(ctx, writePermission[input.level], resource);
  if (!(await getUser(ctx.scope, input.userId))) throw notFound('user', input.userId);
  try {
    return await ctx.scope.transaction(async (scope) => {
      const id = await insertMembership(scope, { ...row, user_id: input.userId, roles });
      await appendEvent(scope, ctx.actor, {
        orgId: row.org_id,
        resourceType: 'membership',
        resourceId: id,
        type: `${input.level}.member.added`,
        payload: { userId: input.userId, roles, ...resource },
      });
      return { id };
    });
  } catch (err) {
    if (isUniqueViolation(err, 'memberships_once')) throw alreadyExists('membership.exists', 'the user is already a member there; change their roles instead');
    throw err;
  }
}

async function requireMembership(ctx: ServiceContext, id: string): Promise<{ m: MembershipRow; resource: Resource }> {
  const m = await getMembership(ctx.scope, id);
  if (!m) throw notFound('membership', id);
  const { resource } = await resolveTarget(ctx.scope, {
    level: m.level,
    orgId: m.org_id,
    projectId: m.project_id,
    projectGrantId: m.project_grant_id,
  });
  await authorize(ctx, writePermission[m.level], resource);
  return { m, resource };
}

async function refuseLosingLastIamOwner(scope: Scope, m: MembershipRow, newRoles: string[]): Promise<void> {
  if (m.level === 'instance' && m.roles.includes('IAM_OWNER') && !newRoles.includes('IAM_OWNER') && (await countOtherIamOwners(scope, m.user_id)) === 0) {
    throw ruleViolation('membership.last_iam_owner', 'the instance must keep at least one active IAM_OWNER');
  }
}

export async function changeMemberRoles(ctx: ServiceContext, membershipId: string, roles: string[]): Promise<void> {
  const { m, resource } = await requireMembership(ctx, membershipId);
  const checked = checkRoles(ctx, m.level, roles);
  await ctx.scope.transaction(async (scope) => {
    await refuseLosingLastIamOwner(scope, m, checked);
    await updateMembershipRoles(scope, membershipId, checked);
    await appendEvent(scope, ctx.actor, {
      orgId: m.org_id,
      resourceType: 'membership',
      resourceId: membershipId,
      type: `${m.level}.member.changed`,
      payload: { userId: m.user_id, from: m.roles, roles: checked, ...resource },
    });
  });
}

export async function removeMember(ctx: ServiceContext, membershipId: string): Promise<void> {
  const { m, resource } = await requireMembership(ctx, membershipId);
  await ctx.scope.transaction(async (scope) => {
    await refuseLosingLastIamOwner(scope, m, []);
    await deleteMembership(scope, membershipId);
    await appendEvent(scope, ctx.actor, {
      orgId: m.org_id,
      resourceType: 'membership',
      resourceId: membershipId,
      type: `${m.level}.member.removed`,
      payload: { userId: m.user_id, roles: m.roles, ...resource },
    });
  });
}

/** Finds the one membership of a user at a place, e.g. for `tessera apply` to update it. */
export async function findMember(scope: Scope, userId: string, t: MemberTarget): Promise<MembershipRow | undefined> {
  const f: MembershipFilter = { userId, level: t.level };
  if (t.level === 'org' && t.orgId) f.orgId = t.orgId;
  if (t.projectId) f.projectId = t.projectId;
  if (t.projectGrantId) f.projectGrantId = t.projectGrantId;
  return (await listMemberships(scope, f))[0];
}

/**
 * Refuses unless the acting user holds every permission `userId`'s own memberships grant, on
 * the resources they grant it on. Whoever sets a user's credentials (password, secret, key,
 * token, second factor, external login, the address resets go to) can act as that user, so a
 * user manager must not do it for a user who holds more than the manager does: an IAM_OWNER
 * machine user, or the org's owner. Users acting on themselves, the system and the CLI pass.
 */
export async function authorizeActingAs(ctx: ServiceContext, userId: string): Promise<void> {
  if (ctx.actor.type !== 'user' || ctx.actor.userId === userId) return;
  const theirs = await listMembershipsOfUser(ctx.scope, userId);
  if (theirs.length === 0) return;
  const mine = await listEffectiveMembershipsOfUser(ctx.scope, ctx.actor.userId);
  const table = roleTableFor(ctx.deps.config.roles);
  for (const m of theirs) {
    const { resource } = await resolveTarget(ctx.scope, { level: m.level, orgId: m.org_id, projectId: m.project_id, projectGrantId: m.project_grant_id });
    // A grant-level membership acts on the owner's side (its members) and the granted org's (its user grants).
    const places = m.level === 'project_grant' ? [resource, { ...resource, orgId: m.org_id! }] : [resource];
    for (const permission of new Set(m.roles.flatMap((role) => [...(table[role] ?? [])]))) {
      if (!places.some((r) => can(mine, permission, r, table))) throw permissionDenied(permission);
    }
  }
}
