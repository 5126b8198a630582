import { z } from 'zod';
import { listAuthFactors, removeTotp, resetAuthFactors, type AuthFactor } from '../../domain/mfa/service.js';
import { requireUserOfOrg } from '../../domain/user/queries.js';
import { id, iso, timestamp } from '../schemas.js';
import { RouteList } from '../route.js';

/** Assembled into the Management API in ./index.ts. */
export const api = new RouteList();

/**
 * A user's second factors, for their managers: see them, and reset them when the user lost their
 * device (ZITADEL: ListHumanAuthFactors, RemoveHumanAuthFactorOTP); single passkeys are removed
 * at /users/{userId}/passkeys/{id}. Removing needs
 * user.credential.write and every permission the user holds; each removal is audited.
 */
const tag = 'Users';
const userParams = z.object({ userId: id });
export const factorSchema = z
  .discriminatedUnion('type', [
    z.object({
      type: z.literal('totp'),
      state: z.enum(['ready', 'not_ready']).meta({ description: 'not_ready: enrolment was started but never confirmed' }),
      createdAt: timestamp,
      recoveryCodesLeft: z.number().int(),
    }),
    z.object({
      type: z.literal('passkey'),
      state: z.literal('ready'),
      id: z.string().meta({ description: 'removable alone at /users/{userId}/passkeys/{id}' }),
      name: z.string(),
      createdAt: timestamp,
      lastUsedAt: timestamp.nullable(),
    }),
  ])
  .meta({ id: 'AuthFactor' });

export const factorView = (f: AuthFactor) =>
  f.type === 'totp' ? { ...f, createdAt: iso(f.createdAt)! } : { ...f, createdAt: iso(f.createdAt)!, lastUsedAt: iso(f.lastUsedAt) };

api.route({
  method: 'get',
  path: '/users/{userId}/auth_factors',
  tag,
  summary: "A user's second factors (no secrets)",
  permission: 'user.read',
  params: userParams,
  response: z.object({ result: z.array(factorSchema) }),
  handler: async ({ params, call }) => {
    await requireUserOfOrg(call.svc, call.orgId, params.userId);
    return { result: (await listAuthFactors(call.svc, params.userId)).map(factorView) };
  },
});

api.route({
  method: 'delete',
  path: '/users/{userId}/auth_factors',
  tag,
  summary: "Reset a user's factors: the authenticator app, its recovery codes and every passkey",
  description: 'For a lost device. With a login policy that asks for a second factor, the user enrols again at their next login. Audited as user.mfa.reset.',
  permission: 'user.credential.write',
  params: userParams,
  status: 200,
  response: z.object({ removed: z.object({ totp: z.boolean(), passkeys: z.number().int().meta({ description: 'how many passkeys were removed' }) }) }),
  handler: async ({ params, call }) => {
    await requireUserOfOrg(call.svc, call.orgId, params.userId);
    return resetAuthFactors(call.svc, params.userId);
  },
});

api.route({
  method: 'delete',
  path: '/users/{userId}/auth_factors/otp',
  tag,
  summary: "Remove a user's authenticator app (TOTP) and its recovery codes",
  permission: 'user.credential.write',
  params: userParams,
  handler: async ({ params, call }) => {
    await requireUserOfOrg(call.svc, call.orgId, params.userId);
    await removeTotp(call.svc, params.userId);
  },
});
