import { z } from 'zod';
import { idpsOf, readIdp, type IdpRow } from '../domain/idp/queries.js';
import * as idps from '../domain/idp/service.js';
import type { Call, RouteList } from './route.js';
import { id, iso, listOf, listQuery, noChosenId, page, timestamp, versioned } from './schemas.js';

/** Generic OIDC identity providers: the instance's (Admin API) or one org's (Management API). */
const autoLinking = z.enum(['none', 'email', 'username']);
const options = {
  scopes: z.array(z.string().min(1).max(200)).max(30).optional(),
  isLinkingAllowed: z.boolean().optional(),
  isCreationAllowed: z.boolean().optional(),
  isAutoCreation: z.boolean().optional(),
  isAutoUpdate: z.boolean().optional(),
  autoLinking: autoLinking.optional(),
};

const idpSchema = z
  .object({
    id: z.string(),
    orgId: z.string().nullable(),
    name: z.string(),
    type: z.string(),
    state: z.string(),
    issuer: z.string(),
    clientId: z.string(),
    scopes: z.array(z.string()),
    isLinkingAllowed: z.boolean(),
    isCreationAllowed: z.boolean(),
    isAutoCreation: z.boolean(),
    isAutoUpdate: z.boolean(),
    autoLinking,
    ...versioned,
    createdAt: timestamp,
  })
  .meta({ id: 'Idp', description: 'The client secret is write-only.' });

const idpView = (i: IdpRow): z.input<typeof idpSchema> => ({
  id: i.id,
  orgId: i.org_id,
  name: i.name,
  type: i.type,
  state: i.state,
  issuer: i.issuer,
  clientId: i.client_id,
  scopes: i.scopes,
  isLinkingAllowed: i.is_linking_allowed,
  isCreationAllowed: i.is_creation_allowed,
  isAutoCreation: i.is_auto_creation,
  isAutoUpdate: i.is_auto_update,
  autoLinking: i.auto_linking,
  version: i.version,
  createdAt: iso(i.created_at)!,
});

export function idpRoutes(group: RouteList, level: 'instance' | 'org'): void {
  const tag = 'Identity providers';
  const owner = (call: Call) => (level === 'org' ? call.orgId : null);
  const readPermission = level === 'org' ? 'org.idp.read' : 'iam.idp.read';
  const writePermission = level === 'org' ? 'org.idp.write' : 'iam.idp.write';
  const params = z.object({ idpId: id });

  group.route({
    method: 'get',
    path: '/idps',
    tag,
    summary: `List the ${level}'s identity providers`,
    permission: readPermission,
    query: listQuery(['name', 'createdAt'] as const, {}),
    response: listOf(idpSchema),
    handler: async ({ query, call }) => {
      return page((await idpsOf(call.svc, owner(call))).map(idpView), query);
    },
  });
  group.route({
    method: 'post',
    path: '/idps',
    tag,
    summary: 'Add a generic OIDC identity provider',
    permission: writePermission,
    publishes: true,
    body: z.object({
      name: z.string().min(1).max(200),
      issuer: z.url(),
      clientId: z.string().min(1).max(500),
      clientSecret: z.string().max(2000),
      id: noChosenId,
      ...options,
    }),
    response: z.object({ id: z.string() }),
    handler: async ({ body, call }) => idps.createIdp(call.svc, { ...body, orgId: owner(call) }),
  });
  group.route({
    method: 'get',
    path: '/idps/{idpId}',
    tag,
    summary: 'Read an identity provider',
    permission: readPermission,
    params,
    response: idpSchema,
    handler: async ({ params: p, call }) => {
      const idp = await readIdp(call.svc, owner(call), p.idpId);
      call.etag(idp.version);
      return idpView(idp);
    },
  });
  group.route({
    method: 'patch',
    path: '/idps/{idpId}',
    tag,
    summary: 'Change an identity provider',
    permission: writePermission,
    params,
    ifMatch: true,
    publishes: true,
    body: z.object({
      name: z.string().min(1).max(200).optional(),
      issuer: z.url().optional(),
      clientId: z.string().min(1).max(500).optional(),
      clientSecret: z.string().max(2000).optional(),
      state: z.enum(['active', 'inactive']).optional(),
      ...options,
    }),
    response: idpSchema,
    handler: async ({ params: p, body, call }) => {
      await readIdp(call.svc, owner(call), p.idpId, null);
      await call.atVersion('idp', p.idpId, (svc) => idps.updateIdp(svc, p.idpId, body));
      const after = await readIdp(call.svc, owner(call), p.idpId, writePermission);
      call.etag(after.version);
      return idpView(after);
    },
  });
  group.route({
    method: 'delete',
    path: '/idps/{idpId}',
    tag,
    summary: 'Remove an identity provider',
    permission: writePermission,
    params,
    ifMatch: true,
    publishes: true,
    handler: async ({ params: p, call }) => {
      await readIdp(call.svc, owner(call), p.idpId, null);
      await call.atVersion('idp', p.idpId, (svc) => idps.deleteIdp(svc, p.idpId));
    },
  });
}
