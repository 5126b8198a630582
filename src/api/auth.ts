import { z } from 'zod';
import { ownMemberships } from '../domain/membership/queries.js';
import { ownUser } from '../domain/user/queries.js';
import { setPassword } from '../domain/user/service.js';
import { ownUserGrants } from '../domain/user-grant/queries.js';
import { DomainError } from '../shared/errors.js';
import { explainAccess } from '../domain/access/explanation.js';
import { accessExplanationSchema } from './access-explanation.js';
import { userContext } from './authenticate.js';
import { listAuthFactors, removeTotp } from '../domain/mfa/service.js';
import { factorSchema, factorView } from './management/auth-factors.js';
import { userGrantSchema, userGrantView } from './management/grants.js';
import { userSchema, userView } from './management/users.js';
import { ApiGroup, type Call } from './route.js';
import { listOf, listQuery, page } from './schemas.js';

/** Auth API: the caller's own user, grants, memberships and access. No manager permission needed. */
export const authApi = new ApiGroup('/auth/v1', 'Auth', 'bearer', userContext);
const tag = 'Auth';

async function me(call: Call) {
  const user = await ownUser(call.svc);
  if (!user) throw new DomainError('unauthenticated', 'no user behind this token', 'unauthenticated');
  return user;
}

authApi.route({
  method: 'get',
  path: '/users/me',
  tag,
  summary: 'The calling user',
  response: userSchema,
  handler: async ({ call }) => {
    const user = await me(call);
    call.etag(user.version);
    return userView(call, user);
  },
});

authApi.route({
  method: 'get',
  path: '/users/me/grants',
  tag,
  summary: "The caller's user grants (authorizations), from every giving org",
  query: listQuery(['createdAt', 'projectId', 'state'] as const, { projectId: z.string().optional() }),
  response: listOf(userGrantSchema),
  handler: async ({ query, call }) => {
    await me(call);
    return page((await ownUserGrants(call.svc, { projectId: query.projectId })).map(userGrantView), query);
  },
});

authApi.route({
  method: 'get',
  path: '/users/me/memberships',
  tag,
  summary: 'Where the caller is a manager, with which roles',
  response: z.array(
    z.object({
      id: z.string(),
      level: z.string(),
      orgId: z.string().nullable(),
      projectId: z.string().nullable(),
      projectGrantId: z.string().nullable(),
      roles: z.array(z.string()),
    }),
  ),
  handler: async ({ call }) => {
    await me(call);
    return (await ownMemberships(call.svc)).map((m) => ({
      id: m.id,
      level: m.level,
      orgId: m.org_id,
      projectId: m.project_id,
      projectGrantId: m.project_grant_id,
      roles: m.roles,
    }));
  },
});

authApi.route({
  method: 'put',
  path: '/users/me/password',
  tag,
  summary: "Change the caller's own password (the current one is required)",
  body: z.object({ currentPassword: z.string().min(1).max(256), password: z.string().min(1).max(256) }),
  handler: async ({ body, call }) => {
    const user = await me(call);
    await setPassword(call.svc, user.id, body.password, { currentPassword: body.currentPassword });
    // Where the org's notification policy asks, a changed password is announced to its owner.
    const { notifier } = call;
    if (notifier) call.afterCommit((scope) => notifier.passwordChanged(scope, user.id, call.koa.state.origin));
  },
});

authApi.route({
  method: 'get',
  path: '/users/me/access',
  tag,
  summary: "Explain the roles the caller's token for an application would carry",
  query: z.object({ client_id: z.string().min(1).max(255) }),
  response: accessExplanationSchema,
  handler: async ({ query, call }) => explainAccess(call.svc, (await me(call)).id, query.client_id),
});

authApi.route({
  method: 'get',
  path: '/users/me/auth_factors',
  tag,
  summary: "The caller's own second factors and passkeys (no secrets)",
  response: z.object({ result: z.array(factorSchema) }),
  handler: async ({ call }) => ({ result: (await listAuthFactors(call.svc, (await me(call)).id)).map(factorView) }),
});

authApi.route({
  method: 'delete',
  path: '/users/me/auth_factors/otp',
  tag,
  summary: "Remove the caller's own authenticator app (TOTP) and its recovery codes",
  description:
    "Needs a sign-in at most login.freshSignInS (5 minutes) old, as the access token's auth_time says; otherwise 403 with code reauthentication_required (sign in again, then retry with the new token). A personal access token never qualifies.",
  handler: async ({ call }) => {
    await removeTotp(call.svc, (await me(call)).id);
  },
});
