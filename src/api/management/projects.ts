import { RouteList } from '../route.js';
import { z } from 'zod';
import { pageReadableProjects, readProjectOfOrg, requireProjectOfOrg, rolesOfProject, type ProjectRow } from '../../domain/project/queries.js';
import * as projects from '../../domain/project/service.js';
import * as roles from '../../domain/project/roles.js';
import { contains, id, iso, listOf, listQuery, page, timestamp, versioned, noChosenId } from '../schemas.js';
import { eventList, eventPage, historyFilter, historyQuery } from '../common.js';

/** Assembled into the Management API in ./index.ts. */
export const api = new RouteList();

const tag = 'Projects';
export const projectParams = z.object({ projectId: id });

const labeling = z.enum(['unspecified', 'enforce_project_resource_owner_policy', 'allow_login_user_resource_owner_policy']);
const settings = {
  projectRoleAssertion: z.boolean().optional(),
  projectRoleCheck: z.boolean().optional(),
  hasProjectCheck: z.boolean().optional(),
  privateLabelingSetting: labeling.optional(),
};

const projectSchema = z
  .object({
    id: z.string(),
    orgId: z.string(),
    name: z.string(),
    state: z.string(),
    projectRoleAssertion: z.boolean(),
    projectRoleCheck: z.boolean(),
    hasProjectCheck: z.boolean(),
    privateLabelingSetting: labeling,
    ...versioned,
    createdAt: timestamp,
    updatedAt: timestamp,
  })
  .meta({ id: 'Project' });

const projectView = (p: ProjectRow): z.input<typeof projectSchema> => ({
  id: p.id,
  orgId: p.org_id,
  name: p.name,
  state: p.state,
  projectRoleAssertion: p.project_role_assertion,
  projectRoleCheck: p.project_role_check,
  hasProjectCheck: p.has_project_check,
  privateLabelingSetting: p.private_labeling_setting,
  version: p.version,
  createdAt: iso(p.created_at)!,
  updatedAt: iso(p.updated_at)!,
});

api.route({
  method: 'get',
  path: '/projects',
  tag,
  summary: "List the org's own projects (granted ones: /granted_projects)",
  permission: 'project.read',
  query: listQuery(['name', 'createdAt', 'state'] as const, {
    name: z.string().optional().meta({ description: 'name contains' }),
    state: z.enum(['active', 'inactive']).optional(),
  }),
  response: listOf(projectSchema),
  handler: async ({ query, call }) => {
    // Project-level managers read their project even without org-wide project.read.
    const { total, rows } = await pageReadableProjects(call.svc, call.orgId, { nameContains: query.name, state: query.state }, query);
    return { details: { totalResult: total, offset: query.offset, limit: query.limit }, result: rows.map(projectView) };
  },
});

api.route({
  method: 'post',
  path: '/projects',
  tag,
  summary: 'Create a project in the org',
  permission: 'project.create',
  body: z.object({ name: z.string().min(1).max(200), id: noChosenId, ...settings }),
  response: z.object({ id: z.string() }),
  handler: async ({ body, call }) => projects.createProject(call.svc, { ...body, orgId: call.orgId }),
});

api.route({
  method: 'get',
  path: '/projects/{projectId}',
  tag,
  summary: 'Read a project',
  permission: 'project.read',
  params: projectParams,
  response: projectSchema,
  handler: async ({ params, call }) => {
    const p = await readProjectOfOrg(call.svc, call.orgId, params.projectId);
    call.etag(p.version);
    return projectView(p);
  },
});

api.route({
  method: 'patch',
  path: '/projects/{projectId}',
  tag,
  summary: "Change a project's name or settings",
  permission: 'project.write',
  params: projectParams,
  ifMatch: true,
  publishes: true,
  body: z.object({ name: z.string().min(1).max(200).optional(), ...settings }),
  response: projectSchema,
  handler: async ({ params, body, call }) => {
    await requireProjectOfOrg(call.svc, call.orgId, params.projectId);
    await call.atVersion('project', params.projectId, (svc) => projects.updateProject(svc, params.projectId, body));
    const after = await readProjectOfOrg(call.svc, call.orgId, params.projectId, 'project.write');
    call.etag(after.version);
    return projectView(after);
  },
});

api.route({
  method: 'delete',
  path: '/projects/{projectId}',
  tag,
  summary: 'Delete a project with its roles, apps and grants',
  permission: 'project.delete',
  params: projectParams,
  ifMatch: true,
  publishes: true,
  handler: async ({ params, call }) => {
    await requireProjectOfOrg(call.svc, call.orgId, params.projectId);
    await call.atVersion('project', params.projectId, (svc) => projects.deleteProject(svc, params.projectId));
  },
});

for (const [action, fn] of [
  ['deactivate', projects.deactivateProject],
  ['reactivate', projects.reactivateProject],
] as const) {
  api.route({
    method: 'post',
    path: `/projects/{projectId}/_${action}`,
    tag,
    summary: `${action[0].toUpperCase()}${action.slice(1)} a project`,
    permission: 'project.write',
    params: projectParams,
    ifMatch: true,
    publishes: true,
    handler: async ({ params, call }) => {
      await requireProjectOfOrg(call.svc, call.orgId, params.projectId);
      await call.atVersion('project', params.projectId, (svc) => fn(svc, params.projectId));
    },
  });
}

// ---- roles ----

export const roleSchema = z
  .object({ key: z.string(), displayName: z.string(), group: z.string().nullable(), createdAt: timestamp })
  .meta({ id: 'ProjectRole' });

api.route({
  method: 'get',
  path: '/projects/{projectId}/roles',
  tag,
  summary: "List a project's roles",
  permission: 'project.role.read',
  params: projectParams,
  query: listQuery(['key', 'displayName', 'group', 'createdAt'] as const, {
    key: z.string().optional().meta({ description: 'key contains' }),
    group: z.string().optional(),
  }),
  response: listOf(roleSchema),
  handler: async ({ params, query, call }) => {
    const rows = (await rolesOfProject(call.svc, call.orgId, params.projectId)).map((r) => ({
      key: r.key,
      displayName: r.display_name,
      group: r.group,
      createdAt: iso(r.created_at)!,
    }));
    return page(rows, query, (r) => contains(r.key, query.key) && (query.group === undefined || r.group === query.group));
  },
});

api.route({
  method: 'post',
  path: '/projects/{projectId}/roles',
  tag,
  summary: 'Add a role',
  permission: 'project.role.write',
  params: projectParams,
  body: z.object({ key: z.string().min(1).max(200), displayName: z.string().min(1).max(200), group: z.string().max(200).nullable().optional() }),
  handler: async ({ params, body, call }) => {
    await requireProjectOfOrg(call.svc, call.orgId, params.projectId);
    await roles.addProjectRole(call.svc, params.projectId, body);
  },
});

const roleParams = projectParams.extend({ roleKey: z.string().min(1).max(200) });

api.route({
  method: 'patch',
  path: '/projects/{projectId}/roles/{roleKey}',
  tag,
  summary: "Change a role's display name or group",
  permission: 'project.role.write',
  params: roleParams,
  body: z.object({ displayName: z.string().min(1).max(200).optional(), group: z.string().max(200).nullable().optional() }),
  handler: async ({ params, body, call }) => {
    await requireProjectOfOrg(call.svc, call.orgId, params.projectId);
    await roles.updateProjectRole(call.svc, params.projectId, params.roleKey, body);
  },
});

api.route({
  method: 'delete',
  path: '/projects/{projectId}/roles/{roleKey}',
  tag,
  permission: 'project.role.delete',
  summary: 'Remove a role, and with it the role from every project grant and user grant',
  params: roleParams,
  handler: async ({ params, call }) => {
    await requireProjectOfOrg(call.svc, call.orgId, params.projectId);
    await roles.removeProjectRole(call.svc, params.projectId, params.roleKey);
  },
});

api.route({
  method: 'get',
  path: '/projects/{projectId}/history',
  tag,
  summary: "The project's audit trail (settings, roles)",
  permission: 'project.read',
  params: projectParams,
  query: historyQuery,
  response: eventList,
  handler: async ({ params, query, call }) => {
    await readProjectOfOrg(call.svc, call.orgId, params.projectId);
    return eventPage(
      call,
      'project.read',
      { orgId: call.orgId, projectId: params.projectId },
      { ...historyFilter(query), resourceType: 'project', resourceId: params.projectId },
    );
  },
});
