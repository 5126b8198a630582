import { z } from 'zod';
import {
  namesOfUser,
  pageOrgUsers,
  readUserOfOrg,
  requireUserOfOrg,
  userByExactLoginName,
  userMetadataOf,
  type ListedUser,
  type UserLoginNames,
} from '../../domain/user/queries.js';
import * as users from '../../domain/user/service.js';
import { RouteList, type Call } from '../route.js';
import { id, iso, listOf, listQuery, timestamp, versioned, noChosenId } from '../schemas.js';
import { eventList, eventPage, historyFilter, historyQuery } from '../common.js';

/** Assembled into the Management API in ./index.ts. */
export const api = new RouteList();

const tag = 'Users';
const userParams = z.object({ userId: id });

export const userSchema = z
  .object({
    id: z.string(),
    orgId: z.string(),
    type: z.enum(['human', 'machine']),
    username: z.string(),
    state: z.string(),
    preferredLoginName: z.string(),
    loginNames: z.array(z.string()),
    email: z.string().nullable(),
    emailVerified: z.boolean(),
    phone: z.string().nullable(),
    phoneVerified: z.boolean(),
    givenName: z.string().nullable(),
    familyName: z.string().nullable(),
    displayName: z.string().nullable(),
    preferredLanguage: z.string().nullable(),
    name: z.string().nullable(),
    description: z.string().nullable(),
    accessTokenType: z.enum(['jwt', 'opaque']),
    ...versioned,
    createdAt: timestamp,
    updatedAt: timestamp,
  })
  .meta({ id: 'User' });

/** A user as the API answers it; a list passes the login names of its page, read in one query. */
export async function userView(call: Call, u: ListedUser, given?: UserLoginNames): Promise<z.input<typeof userSchema>> {
  const names = given ?? (await namesOfUser(call.svc, u));
  return {
    id: u.id,
    orgId: u.org_id,
    type: u.type,
    username: u.username,
    state: u.state,
    preferredLoginName: names.preferredLoginName,
    loginNames: names.loginNames,
    email: u.email,
    emailVerified: u.email_verified,
    phone: u.phone,
    phoneVerified: u.phone_verified,
    givenName: u.given_name,
    familyName: u.family_name,
    displayName: u.display_name,
    preferredLanguage: u.preferred_language,
    name: u.name,
    description: u.description,
    accessTokenType: u.access_token_type,
    version: u.version,
    createdAt: iso(u.created_at)!,
    updatedAt: iso(u.updated_at)!,
  };
}

api.route({
  method: 'get',
  path: '/users',
  tag,
  summary: "List the org's users",
  permission: 'user.read',
  query: listQuery(['username', 'createdAt', 'state', 'type'] as const, {
    type: z.enum(['human', 'machine']).optional(),
    state: z.enum(['initial', 'active', 'inactive', 'locked']).optional(),
    username: z.string().optional().meta({ description: 'username contains' }),
  }),
  response: listOf(userSchema),
  handler: async ({ query, call }) => {
    const { total, rows, names } = await pageOrgUsers(call.svc, call.orgId, { type: query.type, state: query.state, usernameContains: query.username }, query);
    return {
      details: { totalResult: total, offset: query.offset, limit: query.limit },
      result: await Promise.all(rows.map((u) => userView(call, u, names.get(u.id)))),
    };
  },
});

const externalUserSchema = z
  .object({
    id: z.string(),
    orgId: z.string(),
    type: z.enum(['human', 'machine']),
    preferredLoginName: z.string(),
    displayName: z.string().nullable(),
  })
  .meta({ id: 'UserByLoginName' });

api.route({
  method: 'get',
  path: '/users/_by_login_name',
  tag,
  permission: ['user.grant.write', 'user.read', 'user.global.read'],
  summary: 'Find a user of any org of the instance by exact login name',
  description:
    'The only way to reach users of other orgs without user.global.read: exact login name, no search. ' +
    'Answers who the user is, enough to give them a user grant.',
  query: z.object({ login_name: z.string().min(1).max(500) }),
  response: externalUserSchema,
  handler: async ({ query, call }) => {
    const user = await userByExactLoginName(call.svc, call.orgId, query.login_name);
    return {
      id: user.id,
      orgId: user.org_id,
      type: user.type,
      preferredLoginName: user.preferredLoginName,
      displayName: user.display_name ?? user.name,
    };
  },
});

api.route({
  method: 'post',
  path: '/users/human',
  tag,
  summary: 'Create a human user in the org',
  permission: 'user.write',
  body: z.object({
    username: z.string().min(1).max(200),
    email: z.string().min(3).max(320),
    emailVerified: z.boolean().optional(),
    phone: z.string().max(50).optional(),
    givenName: z.string().max(200).optional(),
    familyName: z.string().max(200).optional(),
    displayName: z.string().max(200).optional(),
    preferredLanguage: z.string().max(20).optional(),
    password: z.string().min(1).max(256).optional(),
    id: noChosenId,
  }),
  response: z.object({
    id: z.string(),
    invitationMail: z
      .object({
        status: z.enum(['sent', 'failed']),
        reason: z.string().optional().meta({ description: 'why it failed: mail.smtp_not_configured, mail.no_recipient or mail.send_failed' }),
      })
      .optional()
      .meta({
        description:
          'Only for a user created without a password: whether the invitation (a code and a link to set a password) went out. It is sent once the user is stored, before this answer, and not retried: the user stays created either way; resend it once the SMTP settings are right.',
      }),
  }),
  description:
    "Without a password the user starts in state `initial` and, once created, is mailed a code and a link to set one through the instance's SMTP server; `invitationMail` says whether it went out.",
  handler: async ({ body, call }) => {
    const created: { id: string; invitationMail?: { status: 'sent' | 'failed'; reason?: string } } = await users.createHumanUser(call.svc, {
      ...body,
      orgId: call.orgId,
    });
    const { notifier } = call;
    if (body.password === undefined && notifier) {
      const origin: string = call.koa.state.origin;
      call.afterCommit(async (scope) => {
        try {
          await notifier.initialPassword(scope, created.id, origin);
          created.invitationMail = { status: 'sent' };
        } catch (err) {
          created.invitationMail = { status: 'failed', reason: (err as { reason?: string }).reason ?? 'mail.send_failed' };
          throw err;
        }
      });
    }
    return created;
  },
});

api.route({
  method: 'post',
  path: '/users/machine',
  tag,
  summary: 'Create a machine user in the org',
  permission: 'user.write',
  body: z.object({
    username: z.string().min(1).max(200),
    name: z.string().min(1).max(200),
    description: z.string().max(1000).optional(),
    accessTokenType: z.enum(['jwt', 'opaque']).optional(),
    id: noChosenId,
  }),
  response: z.object({ id: z.string() }),
  handler: async ({ body, call }) => users.createMachineUser(call.svc, { ...body, orgId: call.orgId }),
});

api.route({
  method: 'get',
  path: '/users/{userId}',
  tag,
  summary: 'Read a user of the org',
  permission: 'user.read',
  params: userParams,
  response: userSchema,
  handler: async ({ params, call }) => {
    const user = await readUserOfOrg(call.svc, call.orgId, params.userId);
    call.etag(user.version);
    return userView(call, user);
  },
});

api.route({
  method: 'patch',
  path: '/users/{userId}',
  tag,
  summary: "Change a user's profile (human) or description (machine)",
  permission: 'user.write',
  params: userParams,
  ifMatch: true,
  body: z.object({
    username: z.string().min(1).max(200).optional(),
    email: z.string().min(3).max(320).optional(),
    emailVerified: z.boolean().optional(),
    phone: z.string().max(50).nullable().optional(),
    phoneVerified: z.boolean().optional(),
    givenName: z.string().max(200).nullable().optional(),
    familyName: z.string().max(200).nullable().optional(),
    displayName: z.string().max(200).nullable().optional(),
    nickName: z.string().max(200).nullable().optional(),
    preferredLanguage: z.string().max(20).nullable().optional(),
    name: z.string().min(1).max(200).optional(),
    description: z.string().max(1000).nullable().optional(),
    accessTokenType: z.enum(['jwt', 'opaque']).optional(),
  }),
  response: userSchema,
  handler: async ({ params, body, call }) => {
    await requireUserOfOrg(call.svc, call.orgId, params.userId);
    await call.atVersion('user', params.userId, (svc) => users.updateUserProfile(svc, params.userId, body));
    const after = await readUserOfOrg(call.svc, call.orgId, params.userId, 'user.write');
    call.etag(after.version);
    return userView(call, after);
  },
});

api.route({
  method: 'delete',
  path: '/users/{userId}',
  tag,
  summary: 'Delete a user with their grants and memberships',
  permission: 'user.delete',
  params: userParams,
  ifMatch: true,
  publishes: true,
  handler: async ({ params, call }) => {
    await requireUserOfOrg(call.svc, call.orgId, params.userId);
    await call.atVersion('user', params.userId, (svc) => users.deleteUser(svc, params.userId));
  },
});

for (const [action, fn, what] of [
  ['lock', users.lockUser, 'Lock'],
  ['unlock', users.unlockUser, 'Unlock'],
  ['deactivate', users.deactivateUser, 'Deactivate'],
  ['reactivate', users.reactivateUser, 'Reactivate'],
] as const) {
  api.route({
    method: 'post',
    path: `/users/{userId}/_${action}`,
    tag,
    summary: `${what} a user`,
    permission: 'user.write',
    params: userParams,
    ifMatch: true,
    publishes: true, // a machine user is also an OIDC client
    handler: async ({ params, call }) => {
      await requireUserOfOrg(call.svc, call.orgId, params.userId);
      await call.atVersion('user', params.userId, (svc) => fn(svc, params.userId));
    },
  });
}

api.route({
  method: 'put',
  path: '/users/{userId}/password',
  tag,
  summary: "Set a human user's password",
  permission: 'user.credential.write',
  params: userParams,
  body: z.object({ password: z.string().min(1).max(256), changeRequired: z.boolean().optional() }),
  handler: async ({ params, body, call }) => {
    await requireUserOfOrg(call.svc, call.orgId, params.userId);
    await users.setPassword(call.svc, params.userId, body.password, { changeRequired: body.changeRequired });
    // The owner hears of it when the org's notification policy asks (passwordChange).
    const { notifier } = call;
    if (notifier) call.afterCommit((scope) => notifier.passwordChanged(scope, params.userId, call.koa.state.origin));
  },
});

// ---- metadata ----

const metadataParams = userParams.extend({ key: z.string().min(1).max(200) });

api.route({
  method: 'get',
  path: '/users/{userId}/metadata',
  tag,
  summary: "A user's metadata",
  permission: 'user.read',
  params: userParams,
  response: z.record(z.string(), z.string()),
  handler: async ({ params, call }) => {
    return userMetadataOf(call.svc, call.orgId, params.userId);
  },
});

api.route({
  method: 'put',
  path: '/users/{userId}/metadata/{key}',
  tag,
  summary: 'Set one metadata value',
  permission: 'user.write',
  params: metadataParams,
  body: z.object({ value: z.string().max(65536) }),
  handler: async ({ params, body, call }) => {
    await requireUserOfOrg(call.svc, call.orgId, params.userId);
    await users.setUserMetadata(call.svc, params.userId, params.key, body.value);
  },
});

api.route({
  method: 'delete',
  path: '/users/{userId}/metadata/{key}',
  tag,
  summary: 'Remove one metadata value',
  permission: 'user.write',
  params: metadataParams,
  handler: async ({ params, call }) => {
    await requireUserOfOrg(call.svc, call.orgId, params.userId);
    await users.removeUserMetadata(call.svc, params.userId, params.key);
  },
});

api.route({
  method: 'get',
  path: '/users/{userId}/history',
  tag,
  summary: "The user's audit trail",
  permission: 'user.read',
  params: userParams,
  query: historyQuery,
  response: eventList,
  handler: async ({ params, query, call }) => {
    await requireUserOfOrg(call.svc, call.orgId, params.userId);
    return eventPage(call, 'user.read', { orgId: call.orgId }, { ...historyFilter(query), resourceType: 'user', resourceId: params.userId });
  },
});
