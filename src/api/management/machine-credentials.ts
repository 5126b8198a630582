import { z } from 'zod';
import * as users from '../../domain/user/service.js';
import { machineKeysOf, personalAccessTokensOf, requireUserOfOrg } from '../../domain/user/queries.js';
import { RouteList } from '../route.js';
import { id, iso, timestamp } from '../schemas.js';

/** A machine user's credentials: client secret, keys, personal access tokens. Assembled into the Management API in ./index.ts. */
export const api = new RouteList();

const tag = 'Users';
const userParams = z.object({ userId: id });

api.route({
  method: 'post',
  path: '/users/{userId}/secret',
  tag,
  summary: "Generate a machine user's client secret (shown once)",
  permission: 'user.credential.write',
  params: userParams,
  publishes: true,
  response: z.object({ clientId: z.string(), clientSecret: z.string() }),
  handler: async ({ params, call }) => {
    await requireUserOfOrg(call.svc, call.orgId, params.userId);
    return users.generateMachineSecret(call.svc, params.userId);
  },
});

api.route({
  method: 'delete',
  path: '/users/{userId}/secret',
  tag,
  summary: "Remove a machine user's client secret",
  permission: 'user.credential.write',
  params: userParams,
  publishes: true,
  handler: async ({ params, call }) => {
    await requireUserOfOrg(call.svc, call.orgId, params.userId);
    await users.removeMachineSecret(call.svc, params.userId);
  },
});

const expiry = z.object({ expiresAt: timestamp.optional() });

api.route({
  method: 'get',
  path: '/users/{userId}/keys',
  tag,
  summary: "A machine user's public keys",
  permission: 'user.read',
  params: userParams,
  response: z.array(z.object({ id: z.string(), publicJwk: z.record(z.string(), z.unknown()), expiresAt: timestamp.nullable(), createdAt: timestamp })),
  handler: async ({ params, call }) => {
    return (await machineKeysOf(call.svc, call.orgId, params.userId)).map((k) => ({
      id: k.id,
      publicJwk: k.public_jwk,
      expiresAt: iso(k.expires_at),
      createdAt: iso(k.created_at)!,
    }));
  },
});

api.route({
  method: 'post',
  path: '/users/{userId}/keys',
  tag,
  summary: 'Add a machine key (the private key is shown once)',
  permission: 'user.credential.write',
  params: userParams,
  body: expiry,
  publishes: true,
  response: z.object({
    keyId: z.string(),
    privateKeyPem: z.string(),
    keyJson: z.string(),
    publicJwk: z.record(z.string(), z.unknown()),
    expiresAt: timestamp.nullable(),
  }),
  handler: async ({ params, body, call }) => {
    await requireUserOfOrg(call.svc, call.orgId, params.userId);
    const key = await users.addMachineKey(call.svc, params.userId, { expiresAt: body.expiresAt });
    return { ...key, expiresAt: iso(key.expiresAt) };
  },
});

api.route({
  method: 'delete',
  path: '/users/{userId}/keys/{keyId}',
  tag,
  summary: 'Remove a machine key',
  permission: 'user.credential.write',
  params: userParams.extend({ keyId: id }),
  publishes: true,
  handler: async ({ params, call }) => {
    await requireUserOfOrg(call.svc, call.orgId, params.userId);
    await users.removeMachineKey(call.svc, params.userId, params.keyId);
  },
});

api.route({
  method: 'get',
  path: '/users/{userId}/pats',
  tag,
  summary: "A machine user's personal access tokens (without the tokens)",
  permission: 'user.read',
  params: userParams,
  response: z.array(z.object({ id: z.string(), scopes: z.array(z.string()), expiresAt: timestamp.nullable(), createdAt: timestamp })),
  handler: async ({ params, call }) => {
    return (await personalAccessTokensOf(call.svc, call.orgId, params.userId)).map((t) => ({
      id: t.id,
      scopes: t.scopes,
      expiresAt: iso(t.expires_at),
      createdAt: iso(t.created_at)!,
    }));
  },
});

api.route({
  method: 'post',
  path: '/users/{userId}/pats',
  tag,
  summary: 'Add a personal access token (shown once)',
  permission: 'user.credential.write',
  params: userParams,
  body: expiry.extend({ scopes: z.array(z.string().max(200)).max(50).optional() }),
  response: z.object({ id: z.string(), token: z.string(), expiresAt: timestamp.nullable() }),
  handler: async ({ params, body, call }) => {
    await requireUserOfOrg(call.svc, call.orgId, params.userId);
    const pat = await users.addPersonalAccessToken(call.svc, params.userId, body);
    return { ...pat, expiresAt: iso(pat.expiresAt) };
  },
});

api.route({
  method: 'delete',
  path: '/users/{userId}/pats/{tokenId}',
  tag,
  summary: 'Revoke a personal access token',
  permission: 'user.credential.write',
  params: userParams.extend({ tokenId: id }),
  handler: async ({ params, call }) => {
    await requireUserOfOrg(call.svc, call.orgId, params.userId);
    await users.removePersonalAccessToken(call.svc, params.userId, params.tokenId);
  },
});
