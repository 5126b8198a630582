import type { Resource } from '../../authz/index.js';
import { authorize, isAllowed } from '../authorization.js';
import { isUniqueViolation, type Scope } from '../../db/scope.js';
import { alreadyExists, DomainError, invalidInput, notFound } from '../../shared/errors.js';
import { newId } from '../../shared/ids.js';
import { appendEvent } from '../audit/repository.js';
import type { ServiceContext } from '../deps.js';
import { insertMembership } from '../membership/repository.js';
import { getOrg } from '../org/repository.js';
import { deleteProjectRow, getProject, insertProject, projectNameTaken, updateProjectRow, type PrivateLabelingSetting, type ProjectRow } from './repository.js';

export { getProject, listProjects, findProjectByName, type ProjectRow } from './repository.js';

export interface ProjectSettings {
  projectRoleAssertion?: boolean;
  projectRoleCheck?: boolean;
  hasProjectCheck?: boolean;
  privateLabelingSetting?: PrivateLabelingSetting;
}

export interface NewProject extends ProjectSettings {
  orgId: string;
  name: string;
  id?: string;
}

export type ProjectPatch = ProjectSettings & { name?: string };

const labelingSettings: PrivateLabelingSetting[] = ['unspecified', 'enforce_project_resource_owner_policy', 'allow_login_user_resource_owner_policy'];

/** Where a project's own resources (settings, roles, apps) live, for authorization. */
export const projectResource = (p: Pick<ProjectRow, 'id' | 'org_id'>): Resource => ({ orgId: p.org_id, projectId: p.id });

/** Loads a project or answers project.not_found; `lock` as in getProject. */
export async function requireProject(scope: Scope, id: string, lock?: 'share' | 'update'): Promise<ProjectRow> {
  const p = await getProject(scope, id, lock);
  if (!p) throw notFound('project', id);
  return p;
}

function checkName(name: string): string {
  const n = name.trim();
  if (!n || n.length > 200) throw invalidInput('a project name must be 1 to 200 characters');
  return n;
}

function settingsToRow(s: ProjectSettings): Partial<ProjectRow> {
  if (s.privateLabelingSetting !== undefined && !labelingSettings.includes(s.privateLabelingSetting)) {
    throw invalidInput(`privateLabelingSetting must be one of ${labelingSettings.join(', ')}`);
  }
  const row: Partial<ProjectRow> = {};
  if (s.projectRoleAssertion !== undefined) row.project_role_assertion = s.projectRoleAssertion;
  if (s.projectRoleCheck !== undefined) row.project_role_check = s.projectRoleCheck;
  if (s.hasProjectCheck !== undefined) row.has_project_check = s.hasProjectCheck;
  if (s.privateLabelingSetting !== undefined) row.private_labeling_setting = s.privateLabelingSetting;
  return row;
}

const nameTaken = (name: string) => alreadyExists('project.name_taken', `the org already has a project named ${name}`);

export async function createProject(ctx: ServiceContext, input: NewProject): Promise<{ id: string }> {
  await authorize(ctx, 'project.create', { orgId: input.orgId });
  const name = checkName(input.name);
  const settings = settingsToRow(input);
  const id = input.id ?? newId();
  await ctx.scope.transaction(async (scope) => {
    const org = await getOrg(scope, input.orgId);
    if (!org) throw notFound('org', input.orgId);
    try {
      await insertProject(scope, { id, org_id: input.orgId, name, ...settings });
    } catch (err) {
      if (isUniqueViolation(err, 'projects_instance_id_org_id_name_unique')) throw nameTaken(name);
      if (isUniqueViolation(err)) throw alreadyExists('project.exists', `project ${id} already exists`);
      throw err;
    }
    await appendEvent(scope, ctx.actor, {
      orgId: input.orgId,
      resourceType: 'project',
      resourceId: id,
      type: 'project.added',
      payload: { name, ...settings },
    });
    await makeCreatorOwner({ ...ctx, scope }, input.orgId, id);
  });
  return { id };
}

/**
 * As in ZITADEL, a creator who could not otherwise manage the new project (an
 * ORG_PROJECT_CREATOR) becomes its PROJECT_OWNER; managers who already can get nothing extra.
 */
async function makeCreatorOwner(ctx: ServiceContext, orgId: string, projectId: string): Promise<void> {
  if (ctx.actor.type !== 'user' || (await isAllowed(ctx, 'project.write', { orgId, projectId }))) return;
  const userId = ctx.actor.userId;
  const membershipId = await insertMembership(ctx.scope, {
    user_id: userId,
    level: 'project',
    org_id: orgId,
    project_id: projectId,
    project_grant_id: null,
    roles: ['PROJECT_OWNER'],
  });
  await appendEvent(ctx.scope, ctx.actor, {
    orgId,
    resourceType: 'membership',
    resourceId: membershipId,
    type: 'project.member.added',
    payload: { userId, roles: ['PROJECT_OWNER'], orgId, projectId },
  });
}

export async function updateProject(ctx: ServiceContext, projectId: string, patch: ProjectPatch): Promise<void> {
  const row: Partial<ProjectRow> = settingsToRow(patch);
  if (patch.name !== undefined) row.name = checkName(patch.name);
  await ctx.scope.transaction(async (scope) => {
    const p = await requireProject(scope, projectId, 'update');
    await authorize({ ...ctx, scope }, 'project.write', projectResource(p));
    if (row.name !== undefined && row.name !== p.name) {
      if (await projectNameTaken(scope, p.org_id, row.name, p.id)) throw nameTaken(row.name);
    }
    await updateProjectRow(scope, projectId, row);
    await appendEvent(scope, ctx.actor, { orgId: p.org_id, resourceType: 'project', resourceId: projectId, type: 'project.changed', payload: { ...row } });
  });
  // Project settings (role assertion, checks) shape what the OIDC provider does for its clients.
  await ctx.deps.changes.publish(ctx.scope.instanceId);
}

async function setState(ctx: ServiceContext, projectId: string, to: 'active' | 'inactive'): Promise<void> {
  await ctx.scope.transaction(async (scope) => {
    const p = await requireProject(scope, projectId, 'update');
    await authorize({ ...ctx, scope }, 'project.write', projectResource(p));
    if (p.state === to) {
      throw new DomainError('precondition_failed', `project ${projectId} is already ${to}`, to === 'active' ? 'project.already_active' : 'project.not_active');
    }
    await updateProjectRow(scope, projectId, { state: to });
    await appendEvent(scope, ctx.actor, {
      orgId: p.org_id,
      resourceType: 'project',
      resourceId: projectId,
      type: to === 'active' ? 'project.reactivated' : 'project.deactivated',
    });
  });
  await ctx.deps.changes.publish(ctx.scope.instanceId);
}

/** A deactivated project keeps its roles, apps and grants, but its grants count for nothing. */
export const deactivateProject = (ctx: ServiceContext, projectId: string) => setState(ctx, projectId, 'inactive');
export const reactivateProject = (ctx: ServiceContext, projectId: string) => setState(ctx, projectId, 'active');

/**
 * Deletes the project; the foreign keys remove its roles, apps, project grants, user grants and
 * memberships with it, in the same statement.
 */
export async function deleteProject(ctx: ServiceContext, projectId: string): Promise<void> {
  await ctx.scope.transaction(async (scope) => {
    const p = await requireProject(scope, projectId, 'update');
    await authorize({ ...ctx, scope }, 'project.delete', projectResource(p));
    await deleteProjectRow(scope, projectId);
    await appendEvent(scope, ctx.actor, {
      orgId: p.org_id,
      resourceType: 'project',
      resourceId: projectId,
      type: 'project.removed',
      payload: { name: p.name },
    });
  });
  await ctx.deps.changes.publish(ctx.scope.instanceId);
}
