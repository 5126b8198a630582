import { z } from 'zod';
import { linkUserToIdp, unlinkUser } from '../../domain/idp/service.js';
import { idpLinksOf, requireUserOfOrg } from '../../domain/user/queries.js';
import { notFound } from '../../shared/errors.js';
import { RouteList } from '../route.js';
import { id, iso, timestamp } from '../schemas.js';

/** A user's links to accounts at external identity providers. Assembled into the Management API in ./index.ts. */
export const api = new RouteList();

const tag = 'Users';
const userParams = z.object({ userId: id });

const linkSchema = z.object({ idpId: z.string(), externalUserId: z.string(), externalUsername: z.string().nullable(), createdAt: timestamp });

api.route({
  method: 'get',
  path: '/users/{userId}/idp_links',
  tag,
  summary: "The user's links to external identity providers",
  permission: 'user.read',
  params: userParams,
  response: z.array(linkSchema),
  handler: async ({ params, call }) => {
    return (await idpLinksOf(call.svc, call.orgId, params.userId)).map((l) => ({
      idpId: l.idp_id,
      externalUserId: l.external_user_id,
      externalUsername: l.external_username,
      createdAt: iso(l.created_at)!,
    }));
  },
});

api.route({
  method: 'post',
  path: '/users/{userId}/idp_links',
  tag,
  summary: 'Link an external account to the user',
  permission: 'user.write',
  params: userParams,
  body: z.object({ idpId: id, externalUserId: z.string().min(1).max(500), externalUsername: z.string().max(500).optional() }),
  handler: async ({ params, body, call }) => {
    await requireUserOfOrg(call.svc, call.orgId, params.userId);
    await linkUserToIdp(call.svc, { ...body, userId: params.userId });
  },
});

api.route({
  method: 'delete',
  path: '/users/{userId}/idp_links/{idpId}/{externalUserId}',
  tag,
  summary: 'Unlink an external account',
  permission: 'user.write',
  params: userParams.extend({ idpId: id, externalUserId: z.string().min(1).max(500) }),
  handler: async ({ params, call }) => {
    const links = await idpLinksOf(call.svc, call.orgId, params.userId, 'user.write');
    if (!links.some((l) => l.idp_id === params.idpId && l.external_user_id === params.externalUserId)) throw notFound('idp link', params.externalUserId);
    await unlinkUser(call.svc, { idpId: params.idpId, externalUserId: params.externalUserId });
  },
});
