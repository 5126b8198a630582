import { z } from 'zod';
import { listPasskeys } from '../../domain/passkey/queries.js';
import { removePasskey } from '../../domain/passkey/service.js';
import { requireUserOfOrg } from '../../domain/user/queries.js';
import { id, iso, timestamp } from '../schemas.js';
import { RouteList } from '../route.js';

/** Assembled into the Management API in ./index.ts. */
export const api = new RouteList();

/** A user's passkeys, seen and removed by a manager (the user adds their own on the account page). */
const tag = 'Users';
const userParams = z.object({ userId: id });

export const passkeySchema = z
  .object({
    id: z.string(),
    name: z.string(),
    rpId: z.string().meta({ description: 'the instance domain the passkey was registered on, and works on' }),
    backupEligible: z.boolean().meta({ description: 'a multi-device (synced) credential' }),
    backedUp: z.boolean(),
    transports: z.array(z.string()),
    aaguid: z.string().nullable().meta({ description: 'the authenticator model, when it tells' }),
    createdAt: timestamp,
    lastUsedAt: timestamp.nullable(),
  })
  .meta({ id: 'Passkey' });

api.route({
  method: 'get',
  path: '/users/{userId}/passkeys',
  tag,
  summary: "A human user's passkeys (never their key material)",
  permission: 'user.read',
  params: userParams,
  response: z.array(passkeySchema),
  handler: async ({ params, call }) => {
    await requireUserOfOrg(call.svc, call.orgId, params.userId);
    return (await listPasskeys(call.svc, params.userId)).map((p) => ({ ...p, createdAt: iso(p.createdAt)!, lastUsedAt: iso(p.lastUsedAt) }));
  },
});

api.route({
  method: 'delete',
  path: '/users/{userId}/passkeys/{passkeyId}',
  tag,
  summary: 'Remove a passkey (it stops signing in at once)',
  permission: 'user.credential.write',
  params: userParams.extend({ passkeyId: id }),
  handler: async ({ params, call }) => {
    await requireUserOfOrg(call.svc, call.orgId, params.userId);
    await removePasskey(call.svc, params.userId, params.passkeyId);
  },
});
