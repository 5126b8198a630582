import { z } from 'zod';
import { pageAppsOfProject, readAppOfProject, requireProjectOfOrg, type ApplicationRow } from '../../domain/project/queries.js';
import * as apps from '../../domain/project/applications.js';
import { appName, appSettingsShape, appTypes as appType, authMethods as authMethod } from '../../domain/project/app-schemas.js';
import { RouteList } from '../route.js';
import { id, iso, listOf, listQuery, timestamp, versioned, noChosenClientId, noChosenId } from '../schemas.js';

/** Assembled into the Management API in ./index.ts. */
export const api = new RouteList();
import { projectParams } from './projects.js';

const tag = 'Applications';
const appParams = projectParams.extend({ appId: id });
const settings = { name: appName.optional(), authMethod: authMethod.optional(), ...appSettingsShape };

const appSchema = z
  .object({
    id: z.string(),
    projectId: z.string(),
    name: z.string(),
    state: z.string(),
    clientId: z.string(),
    appType,
    authMethod,
    hasClientSecret: z.boolean(),
    redirectUris: z.array(z.string()),
    postLogoutRedirectUris: z.array(z.string()),
    grantTypes: z.array(z.string()),
    responseTypes: z.array(z.string()),
    accessTokenType: z.enum(['jwt', 'opaque']),
    idTokenRoleAssertion: z.boolean(),
    accessTokenRoleAssertion: z.boolean(),
    idTokenUserinfoAssertion: z.boolean(),
    clockSkewS: z.number().int(),
    devMode: z.boolean(),
    skipConsent: z.boolean(),
    ...versioned,
    createdAt: timestamp,
    updatedAt: timestamp,
  })
  .meta({ id: 'Application' });

// The secret hash never leaves the server; the response says only whether there is one.
const appView = (a: ApplicationRow): z.input<typeof appSchema> => ({
  id: a.id,
  projectId: a.project_id,
  name: a.name,
  state: a.state,
  clientId: a.client_id,
  appType: a.app_type,
  authMethod: a.auth_method,
  hasClientSecret: !!a.client_secret_hash,
  redirectUris: a.redirect_uris,
  postLogoutRedirectUris: a.post_logout_redirect_uris,
  grantTypes: a.grant_types,
  responseTypes: a.response_types,
  accessTokenType: a.access_token_type,
  idTokenRoleAssertion: a.id_token_role_assertion,
  accessTokenRoleAssertion: a.access_token_role_assertion,
  idTokenUserinfoAssertion: a.id_token_userinfo_assertion,
  clockSkewS: a.clock_skew_s,
  devMode: a.dev_mode,
  skipConsent: a.skip_consent,
  version: a.version,
  createdAt: iso(a.created_at)!,
  updatedAt: iso(a.updated_at)!,
});

api.route({
  method: 'get',
  path: '/projects/{projectId}/apps',
  tag,
  summary: "List a project's applications",
  permission: 'project.app.read',
  params: projectParams,
  query: listQuery(['name', 'createdAt', 'clientId'] as const, {
    name: z.string().optional().meta({ description: 'name contains' }),
    appType: appType.optional(),
  }),
  response: listOf(appSchema),
  handler: async ({ params, query, call }) => {
    const { total, rows } = await pageAppsOfProject(call.svc, call.orgId, params.projectId, { nameContains: query.name, appType: query.appType }, query);
    return { details: { totalResult: total, offset: query.offset, limit: query.limit }, result: rows.map(appView) };
  },
});

api.route({
  method: 'post',
  path: '/projects/{projectId}/apps',
  tag,
  permission: 'project.app.write',
  summary: 'Add an OIDC application; a generated client secret is in this response only',
  params: projectParams,
  publishes: true,
  body: z.object({ ...settings, name: appName, appType, authMethod, clientId: noChosenClientId, id: noChosenId }),
  response: z.object({ id: z.string(), clientId: z.string(), clientSecret: z.string().optional() }),
  handler: async ({ params, body, call }) => {
    await requireProjectOfOrg(call.svc, call.orgId, params.projectId);
    return apps.createApplication(call.svc, params.projectId, body);
  },
});

api.route({
  method: 'get',
  path: '/projects/{projectId}/apps/{appId}',
  tag,
  summary: 'Read an application (never its secret)',
  permission: 'project.app.read',
  params: appParams,
  response: appSchema,
  handler: async ({ params, call }) => {
    const app = await readAppOfProject(call.svc, call.orgId, params.projectId, params.appId);
    call.etag(app.version);
    return appView(app);
  },
});

api.route({
  method: 'patch',
  path: '/projects/{projectId}/apps/{appId}',
  tag,
  permission: 'project.app.write',
  summary: 'Change an application; moving to a secret auth method returns the new secret once',
  params: appParams,
  body: z.object(settings),
  ifMatch: true,
  publishes: true,
  response: appSchema.extend({ clientSecret: z.string().optional() }),
  handler: async ({ params, body, call }) => {
    await readAppOfProject(call.svc, call.orgId, params.projectId, params.appId, null);
    const { clientSecret } = await call.atVersion('application', params.appId, (svc) => apps.updateApplication(svc, params.appId, body));
    const after = await readAppOfProject(call.svc, call.orgId, params.projectId, params.appId, 'project.app.write');
    call.etag(after.version);
    return { ...appView(after), ...(clientSecret ? { clientSecret } : {}) };
  },
});

api.route({
  method: 'post',
  path: '/projects/{projectId}/apps/{appId}/secret',
  tag,
  permission: 'project.app.write',
  summary: 'Generate a new client secret (shown once; the old one stops working)',
  params: appParams,
  publishes: true,
  response: z.object({ clientSecret: z.string() }),
  handler: async ({ params, call }) => {
    await readAppOfProject(call.svc, call.orgId, params.projectId, params.appId, null);
    return apps.regenerateClientSecret(call.svc, params.appId);
  },
});

for (const [action, fn] of [
  ['deactivate', apps.deactivateApplication],
  ['reactivate', apps.reactivateApplication],
] as const) {
  api.route({
    method: 'post',
    path: `/projects/{projectId}/apps/{appId}/_${action}`,
    tag,
    summary: `${action[0].toUpperCase()}${action.slice(1)} an application`,
    permission: 'project.app.write',
    params: appParams,
    ifMatch: true,
    publishes: true,
    handler: async ({ params, call }) => {
      await readAppOfProject(call.svc, call.orgId, params.projectId, params.appId, null);
      await call.atVersion('application', params.appId, (svc) => fn(svc, params.appId));
    },
  });
}

api.route({
  method: 'delete',
  path: '/projects/{projectId}/apps/{appId}',
  tag,
  summary: 'Delete an application',
  permission: 'project.app.delete',
  params: appParams,
  ifMatch: true,
  publishes: true,
  handler: async ({ params, call }) => {
    await readAppOfProject(call.svc, call.orgId, params.projectId, params.appId, null);
    await call.atVersion('application', params.appId, (svc) => apps.deleteApplication(svc, params.appId));
  },
});
