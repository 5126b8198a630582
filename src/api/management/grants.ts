import { z } from 'zod';
import { pageGrantsOfProject, pageReceivedGrants, readOwnedGrant, receivedGrant, type ProjectGrantRow } from '../../domain/project-grant/queries.js';
import { requireProjectOfOrg } from '../../domain/project/queries.js';
import * as projectGrants from '../../domain/project-grant/service.js';
import { pageGivenUserGrants, readGivenUserGrant, type UserGrantRow } from '../../domain/user-grant/queries.js';
import * as userGrants from '../../domain/user-grant/service.js';
import { RouteList } from '../route.js';
import { id, iso, listOf, listQuery, timestamp, versioned, noChosenId } from '../schemas.js';
import { eventList, eventPage, historyFilter, historyQuery } from '../common.js';

/** Assembled into the Management API in ./index.ts. */
export const api = new RouteList();
import { projectParams } from './projects.js';

const roleKeys = z.array(z.string().min(1).max(200)).max(500);
const state = z.enum(['active', 'inactive']);

// ---- project grants, as the owner sees them ----

const projectGrantSchema = z
  .object({
    id: z.string(),
    projectId: z.string(),
    grantedOrgId: z.string(),
    roleKeys: z.array(z.string()),
    state: z.string(),
    ...versioned,
    createdAt: timestamp,
    updatedAt: timestamp,
  })
  .meta({ id: 'ProjectGrant' });

const grantView = (g: ProjectGrantRow): z.input<typeof projectGrantSchema> => ({
  id: g.id,
  projectId: g.project_id,
  grantedOrgId: g.granted_org_id,
  roleKeys: g.role_keys,
  state: g.state,
  version: g.version,
  createdAt: iso(g.created_at)!,
  updatedAt: iso(g.updated_at)!,
});

const grantParams = projectParams.extend({ grantId: id });

let tag = 'Project grants';

api.route({
  method: 'get',
  path: '/projects/{projectId}/grants',
  tag,
  summary: 'List the orgs a project is granted to',
  permission: 'project.grant.read',
  params: projectParams,
  query: listQuery(['createdAt', 'grantedOrgId', 'state'] as const, { state: state.optional() }),
  response: listOf(projectGrantSchema),
  handler: async ({ params, query, call }) => {
    const { total, rows } = await pageGrantsOfProject(call.svc, call.orgId, params.projectId, { state: query.state }, query);
    return { details: { totalResult: total, offset: query.offset, limit: query.limit }, result: rows.map(grantView) };
  },
});

api.route({
  method: 'post',
  path: '/projects/{projectId}/grants',
  tag,
  permission: 'project.grant.write',
  summary: 'Grant the project to another org with a subset of its roles',
  params: projectParams,
  body: z.object({ grantedOrgId: id, roleKeys, id: noChosenId }),
  response: z.object({ id: z.string() }),
  handler: async ({ params, body, call }) => {
    await requireProjectOfOrg(call.svc, call.orgId, params.projectId);
    return projectGrants.grantProject(call.svc, { ...body, projectId: params.projectId });
  },
});

api.route({
  method: 'get',
  path: '/projects/{projectId}/grants/{grantId}',
  tag,
  summary: 'Read a project grant',
  permission: 'project.grant.read',
  params: grantParams,
  response: projectGrantSchema,
  handler: async ({ params, call }) => {
    const g = await readOwnedGrant(call.svc, call.orgId, params.projectId, params.grantId);
    call.etag(g.version);
    return grantView(g);
  },
});

api.route({
  method: 'put',
  path: '/projects/{projectId}/grants/{grantId}/roles',
  tag,
  permission: 'project.grant.write',
  summary: "Replace a grant's roles; dropped roles leave the user grants made under it",
  params: grantParams,
  body: z.object({ roleKeys }),
  ifMatch: true,
  response: projectGrantSchema,
  handler: async ({ params, body, call }) => {
    await readOwnedGrant(call.svc, call.orgId, params.projectId, params.grantId, null);
    await call.atVersion('project_grant', params.grantId, (svc) => projectGrants.updateProjectGrantRoles(svc, params.grantId, body.roleKeys));
    const after = await readOwnedGrant(call.svc, call.orgId, params.projectId, params.grantId, 'project.grant.write');
    call.etag(after.version);
    return grantView(after);
  },
});

for (const [action, fn] of [
  ['deactivate', projectGrants.deactivateProjectGrant],
  ['reactivate', projectGrants.reactivateProjectGrant],
] as const) {
  api.route({
    method: 'post',
    path: `/projects/{projectId}/grants/{grantId}/_${action}`,
    tag,
    summary: `${action[0].toUpperCase()}${action.slice(1)} a project grant`,
    permission: 'project.grant.write',
    params: grantParams,
    ifMatch: true,
    handler: async ({ params, call }) => {
      await readOwnedGrant(call.svc, call.orgId, params.projectId, params.grantId, null);
      await call.atVersion('project_grant', params.grantId, (svc) => fn(svc, params.grantId));
    },
  });
}

api.route({
  method: 'delete',
  path: '/projects/{projectId}/grants/{grantId}',
  tag,
  permission: 'project.grant.delete',
  summary: 'Remove a project grant and every user grant made under it',
  params: grantParams,
  ifMatch: true,
  handler: async ({ params, call }) => {
    await readOwnedGrant(call.svc, call.orgId, params.projectId, params.grantId, null);
    await call.atVersion('project_grant', params.grantId, (svc) => projectGrants.removeProjectGrant(svc, params.grantId));
  },
});

api.route({
  method: 'get',
  path: '/projects/{projectId}/grants/{grantId}/history',
  tag,
  summary: "A project grant's audit trail",
  permission: 'project.grant.read',
  params: grantParams,
  query: historyQuery,
  response: eventList,
  handler: async ({ params, query, call }) => {
    const g = await readOwnedGrant(call.svc, call.orgId, params.projectId, params.grantId);
    return eventPage(
      call,
      'project.grant.read',
      { orgId: call.orgId, projectId: g.project_id, projectGrantId: g.id },
      { ...historyFilter(query), resourceType: 'project_grant', resourceId: g.id },
    );
  },
});

// ---- granted projects, as the receiving org sees them (read-only) ----

tag = 'Granted projects';
const grantedSchema = z
  .object({
    projectGrantId: z.string(),
    projectId: z.string(),
    projectName: z.string(),
    projectState: z.string(),
    ownerOrgId: z.string(),
    ownerOrgName: z.string(),
    grantedOrgId: z.string(),
    roleKeys: z.array(z.string()),
    roles: z.array(z.object({ key: z.string(), displayName: z.string(), group: z.string().nullable() })),
    state: z.string(),
  })
  .meta({ id: 'GrantedProject' });

api.route({
  method: 'get',
  path: '/granted_projects',
  tag,
  summary: 'Projects other orgs granted to this org, with the granted roles',
  permission: 'project.grant.read',
  query: listQuery(['projectName', 'ownerOrgName', 'state'] as const, { state: state.optional() }),
  response: listOf(grantedSchema),
  handler: async ({ query, call }) => {
    const { total, rows } = await pageReceivedGrants(call.svc, call.orgId, { state: query.state }, query);
    return { details: { totalResult: total, offset: query.offset, limit: query.limit }, result: rows };
  },
});

api.route({
  method: 'get',
  path: '/granted_projects/{grantId}',
  tag,
  summary: 'One granted project',
  permission: 'project.grant.read',
  params: z.object({ grantId: id }),
  response: grantedSchema,
  handler: async ({ params, call }) => {
    return receivedGrant(call.svc, call.orgId, params.grantId);
  },
});

// ---- user grants given by this org ----

tag = 'User grants';
const userGrantSchema = z
  .object({
    id: z.string(),
    userId: z.string(),
    projectId: z.string(),
    orgId: z.string().meta({ description: 'the giving org' }),
    projectGrantId: z.string().nullable(),
    roleKeys: z.array(z.string()),
    state: z.string(),
    expiresAt: timestamp.nullable(),
    ...versioned,
    createdAt: timestamp,
    updatedAt: timestamp,
  })
  .meta({ id: 'UserGrant' });

export const userGrantView = (g: UserGrantRow): z.input<typeof userGrantSchema> => ({
  id: g.id,
  userId: g.user_id,
  projectId: g.project_id,
  orgId: g.org_id,
  projectGrantId: g.project_grant_id,
  roleKeys: g.role_keys,
  state: g.state,
  expiresAt: iso(g.expires_at),
  version: g.version,
  createdAt: iso(g.created_at)!,
  updatedAt: iso(g.updated_at)!,
});
export { userGrantSchema };

api.route({
  method: 'get',
  path: '/user_grants',
  tag,
  permission: 'user.grant.read',
  summary: 'User grants this org gave (to its own users or to users of other orgs)',
  query: listQuery(['createdAt', 'userId', 'projectId', 'state'] as const, {
    userId: id.optional(),
    projectId: id.optional(),
    projectGrantId: id.optional(),
    roleKey: z.string().optional(),
    state: state.optional(),
  }),
  response: listOf(userGrantSchema),
  handler: async ({ query, call }) => {
    // Who may read which grant is a condition of the query, so paging and totalResult see only those.
    const { total, rows } = await pageGivenUserGrants(
      call.svc,
      call.orgId,
      { userId: query.userId, projectId: query.projectId, projectGrantId: query.projectGrantId, roleKey: query.roleKey, state: query.state },
      query,
    );
    return { details: { totalResult: total, offset: query.offset, limit: query.limit }, result: rows.map(userGrantView) };
  },
});

api.route({
  method: 'post',
  path: '/user_grants',
  tag,
  permission: 'user.grant.write',
  summary: 'Give a user (of any org, see /users/_by_login_name) roles on a project this org owns or was granted',
  body: z.object({ userId: id, projectId: id, roleKeys, expiresAt: timestamp.nullable().optional(), id: noChosenId }),
  response: z.object({ id: z.string() }),
  handler: async ({ body, call }) =>
    userGrants.addUserGrant(call.svc, {
      ...body,
      orgId: call.orgId,
      expiresAt: body.expiresAt ? new Date(body.expiresAt) : null,
    }),
});

const userGrantParams = z.object({ userGrantId: id });

api.route({
  method: 'get',
  path: '/user_grants/{userGrantId}',
  tag,
  summary: 'Read a user grant',
  permission: 'user.grant.read',
  params: userGrantParams,
  response: userGrantSchema,
  handler: async ({ params, call }) => {
    const g = await readGivenUserGrant(call.svc, call.orgId, params.userGrantId);
    call.etag(g.version);
    return userGrantView(g);
  },
});

api.route({
  method: 'patch',
  path: '/user_grants/{userGrantId}',
  tag,
  summary: "Change a user grant's roles or expiry",
  permission: 'user.grant.write',
  params: userGrantParams,
  ifMatch: true,
  body: z.object({ roleKeys: roleKeys.optional(), expiresAt: timestamp.nullable().optional() }),
  response: userGrantSchema,
  handler: async ({ params, body, call }) => {
    await readGivenUserGrant(call.svc, call.orgId, params.userGrantId, null);
    await call.atVersion('user_grant', params.userGrantId, (svc) =>
      userGrants.updateUserGrant(svc, params.userGrantId, {
        roleKeys: body.roleKeys,
        expiresAt: body.expiresAt === undefined ? undefined : body.expiresAt === null ? null : new Date(body.expiresAt),
      }),
    );
    const after = await readGivenUserGrant(call.svc, call.orgId, params.userGrantId, 'user.grant.write');
    call.etag(after.version);
    return userGrantView(after);
  },
});

for (const [action, fn] of [
  ['deactivate', userGrants.deactivateUserGrant],
  ['reactivate', userGrants.reactivateUserGrant],
] as const) {
  api.route({
    method: 'post',
    path: `/user_grants/{userGrantId}/_${action}`,
    tag,
    summary: `${action[0].toUpperCase()}${action.slice(1)} a user grant`,
    permission: 'user.grant.write',
    params: userGrantParams,
    ifMatch: true,
    handler: async ({ params, call }) => {
      await readGivenUserGrant(call.svc, call.orgId, params.userGrantId, null);
      await call.atVersion('user_grant', params.userGrantId, (svc) => fn(svc, params.userGrantId));
    },
  });
}

api.route({
  method: 'delete',
  path: '/user_grants/{userGrantId}',
  tag,
  summary: 'Remove a user grant',
  permission: 'user.grant.delete',
  params: userGrantParams,
  ifMatch: true,
  handler: async ({ params, call }) => {
    await readGivenUserGrant(call.svc, call.orgId, params.userGrantId, null);
    await call.atVersion('user_grant', params.userGrantId, (svc) => userGrants.removeUserGrant(svc, params.userGrantId));
  },
});

api.route({
  method: 'get',
  path: '/user_grants/{userGrantId}/history',
  tag,
  summary: "A user grant's audit trail",
  permission: 'user.grant.read',
  params: userGrantParams,
  query: historyQuery,
  response: eventList,
  handler: async ({ params, query, call }) => {
    const g = await readGivenUserGrant(call.svc, call.orgId, params.userGrantId);
    return eventPage(call, 'user.grant.read', userGrants.userGrantResource(g), { ...historyFilter(query), resourceType: 'user_grant', resourceId: g.id });
  },
});
