import { z } from 'zod';
import { userSignInSessions } from '../../domain/session/queries.js';
import { endSignInSession } from '../../domain/session/service.js';
import { requireUserOfOrg } from '../../domain/user/queries.js';
import { id, iso, timestamp } from '../schemas.js';
import { RouteList } from '../route.js';

/** Assembled into the Management API in ./index.ts. */
export const api = new RouteList();

/** A user's sign-in sessions at the provider, seen and ended by a manager (the console's user page does the same). */
const tag = 'Users';
const userParams = z.object({ userId: id });

const sessionSchema = z
  .object({
    id: z.string(),
    loginAt: timestamp.nullable(),
    expiresAt: timestamp.nullable(),
    amr: z.array(z.string()).meta({ description: 'how the user signed in, e.g. pwd, otp' }),
    clientIds: z.array(z.string()).meta({ description: 'the applications this session signed in to' }),
  })
  .meta({ id: 'SignInSession' });

api.route({
  method: 'get',
  path: '/users/{userId}/sessions',
  tag,
  summary: "A user's current sign-in sessions",
  permission: 'user.read',
  params: userParams,
  response: z.array(sessionSchema),
  handler: async ({ params, call }) => {
    await requireUserOfOrg(call.svc, call.orgId, params.userId);
    return (await userSignInSessions(call.svc, params.userId)).map((s) => ({
      id: s.id,
      loginAt: iso(s.loginAt),
      expiresAt: iso(s.expiresAt),
      amr: s.amr,
      clientIds: s.apps.map((a) => a.clientId),
    }));
  },
});

api.route({
  method: 'delete',
  path: '/users/{userId}/sessions/{sessionId}',
  tag,
  permission: 'user.write',
  summary: 'End a sign-in session with the grants and tokens made in it; the user signs in again next time',
  params: userParams.extend({ sessionId: z.string().min(1).max(200) }),
  handler: async ({ params, call }) => {
    await requireUserOfOrg(call.svc, call.orgId, params.userId);
    await endSignInSession(call.svc, params.userId, params.sessionId);
  },
});
