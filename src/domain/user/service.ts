import { authorize, isAllowed } from '../authorization.js';
import type { Scope } from '../../db/scope.js';
import { isUniqueViolation } from '../../db/scope.js';
import { alreadyExists, invalidInput, notFound, ruleViolation } from '../../shared/errors.js';
import { newId } from '../../shared/ids.js';
import { appendEvent } from '../audit/repository.js';
import type { ServiceContext } from '../deps.js';
import { countOtherIamOwners, listMembershipsOfUser } from '../membership/repository.js';
import { authorizeActingAs } from '../membership/service.js';
import { getOrg } from '../org/repository.js';
import { passwordRuleMessage, unmetPasswordRules } from '../policy/password.js';
import { getEffectivePolicy } from '../policy/service.js';
import { recordPasswordFailure } from './lockout.js';
import {
  deleteUserMetadata,
  deleteUserRow,
  findUsersByUsername,
  getUser,
  insertUser,
  putUserMetadata,
  updateUser,
  type UserRow,
  type UserState,
} from './repository.js';

export {
  addMachineKey,
  addPersonalAccessToken,
  generateMachineSecret,
  removeMachineKey,
  removeMachineSecret,
  removePersonalAccessToken,
} from './credentials.js';

export interface NewHumanUser {
  orgId: string;
  username: string;
  email: string;
  emailVerified?: boolean;
  phone?: string;
  givenName?: string;
  familyName?: string;
  displayName?: string;
  preferredLanguage?: string;
  password?: string;
  /** default: active with a password, initial without */
  state?: UserState;
  id?: string;
}

export interface NewMachineUser {
  orgId: string;
  username: string;
  name: string;
  description?: string;
  accessTokenType?: 'jwt' | 'opaque';
  id?: string;
}

const userStates: UserState[] = ['initial', 'active', 'inactive', 'locked'];
const emailPattern = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

function checkUsername(username: string): string {
  const u = username.trim();
  if (u.length === 0 || u.length > 200 || /\s/.test(u)) throw invalidInput('a username must be 1 to 200 characters without spaces');
  return u;
}

export function checkEmail(email: string): string {
  const e = email.trim();
  if (!emailPattern.test(e) || e.length > 320) throw invalidInput(`"${email}" is not a valid email address`);
  return e;
}

const usernameTaken = (username: string) => alreadyExists('user.username_taken', `username "${username}" is already taken`);

/**
 * Username uniqueness follows the org's domain policy: within the org when login names must
 * carry a domain, otherwise across the instance (the bare username is then a login name).
 * The advisory lock serialises concurrent creations, which the per-org index cannot catch.
 */
async function assertUsernameFree(scope: Scope, orgId: string, username: string, exceptUserId?: string): Promise<void> {
  await scope.lock('usernames');
  const policy = await getEffectivePolicy(scope, 'domain', orgId);
  const clashes = await findUsersByUsername(scope, username, policy.userLoginMustBeDomain ? orgId : undefined);
  if (clashes.some((u) => u.id !== exceptUserId)) throw usernameTaken(username);
}

async function requireActiveOrg(scope: Scope, orgId: string): Promise<void> {
  const org = await getOrg(scope, orgId);
  if (!org) throw notFound('org', orgId);
  if (org.state !== 'active') throw ruleViolation('org.inactive', `organization ${orgId} is inactive`);
}

export async function requireUser(scope: Scope, userId: string): Promise<UserRow> {
  const user = await getUser(scope, userId);
  if (!user) throw notFound('user', userId);
  return user;
}

/** Checks a new password against the org's complexity policy and hashes it. */
export async function hashNewPassword(ctx: ServiceContext, orgId: string, password: string): Promise<string> {
  const rules = unmetPasswordRules(await getEffectivePolicy(ctx.scope, 'password_complexity', orgId), password);
  if (rules.length) {
    const unmet = rules.map(passwordRuleMessage);
    throw ruleViolation('password.complexity', `the password ${unmet.join(', ')}`, { unmet, rules: rules.map((r) => r.rule), unmetRules: rules });
  }
  return ctx.deps.hasher.hash(password);
}

async function insertChecked(ctx: ServiceContext, orgId: string, username: string, row: Parameters<typeof insertUser>[1], event: object): Promise<void> {
  try {
    await ctx.scope.transaction(async (scope) => {
      await requireActiveOrg(scope, orgId);
      await assertUsernameFree(scope, orgId, username);
      await insertUser(scope, row);
      await appendEvent(scope, ctx.actor, { orgId, resourceType: 'user', resourceId: row.id, type: `user.${row.type}.added`, payload: { username, ...event } });
    });
    // Machine users are OIDC clients, cached by the provider (a miss included) until a notice.
    if (row.type === 'machine') await ctx.deps.changes.publish(ctx.scope.instanceId);
  } catch (err) {
    if (isUniqueViolation(err, 'users_username_in_org')) throw usernameTaken(username);
    if (isUniqueViolation(err, 'users_pkey')) throw alreadyExists('user.id_taken', `a user with id ${row.id} already exists`);
    throw err;
  }
}

export async function createHumanUser(ctx: ServiceContext, input: NewHumanUser): Promise<{ id: string }> {
  const username = checkUsername(input.username);
  const email = checkEmail(input.email);
  if (input.state !== undefined && !userStates.includes(input.state)) throw invalidInput(`state must be one of ${userStates.join(', ')}`);
  await authorize(ctx, 'user.write', { orgId: input.orgId });
  const passwordHash = input.password !== undefined ? await hashNewPassword(ctx, input.orgId, input.password) : null;
  const id = input.id ?? newId();
  const displayName = input.displayName ?? ([input.givenName, input.familyName].filter(Boolean).join(' ') || username);
  await insertChecked(
    ctx,
    input.orgId,
    username,
    {
      id,
      org_id: input.orgId,
      type: 'human',
      username,
      state: input.state ?? (passwordHash ? 'active' : 'initial'),
      email,
      email_verified: input.emailVerified ?? false,
      phone: input.phone ?? null,
      given_name: input.givenName ?? null,
      family_name: input.familyName ?? null,
      display_name: displayName,
      preferred_language: input.preferredLanguage ?? null,
      password_hash: passwordHash,
      password_changed_at: passwordHash ? new Date() : null,
    },
    { email },
  );
  return { id };
}

export async function createMachineUser(ctx: ServiceContext, input: NewMachineUser): Promise<{ id: string }> {
  const username = checkUsername(input.username);
  if (!input.name?.trim()) throw invalidInput('a machine user needs a name');
  await authorize(ctx, 'user.write', { orgId: input.orgId });
  const id = input.id ?? newId();
  await insertChecked(
    ctx,
    input.orgId,
    username,
    {
      id,
      org_id: input.orgId,
      type: 'machine',
      username,
      state: 'active',
      name: input.name.trim(),
      description: input.description ?? null,
      access_token_type: input.accessTokenType ?? 'jwt',
    },
    { name: input.name },
  );
  return { id };
}

export type HumanProfilePatch = {
  username?: string;
  email?: string;
  emailVerified?: boolean;
  phone?: string | null;
  phoneVerified?: boolean;
  givenName?: string | null;
  familyName?: string | null;
  displayName?: string | null;
  nickName?: string | null;
  preferredLanguage?: string | null;
};
export type MachinePatch = { username?: string; name?: string; description?: string | null; accessTokenType?: 'jwt' | 'opaque' };

/** Updates a user's profile fields (human) or description (machine); a changed email is unverified unless said otherwise. */
export async function updateUserProfile(ctx: ServiceContext, userId: string, patch: HumanProfilePatch & MachinePatch): Promise<void> {
  const user = await requireUser(ctx.scope, userId);
  await authorize(ctx, 'user.write', { orgId: user.org_id });
  const row: Partial<UserRow> = {};
  const username = patch.username !== undefined ? checkUsername(patch.username) : undefined;
  if (username !== undefined && username !== user.username) row.username = username;
  if (user.type === 'human') {
    if (patch.email !== undefined && patch.email !== user.email) {
      // Password resets go to this address: moving it is as good as setting the password.
      await authorizeActingAs(ctx, userId);
      row.email = checkEmail(patch.email);
      row.email_verified = patch.emailVerified ?? false;
    } else if (patch.emailVerified !== undefined) row.email_verified = patch.emailVerified;
    if (patch.phone !== undefined) {
      row.phone = patch.phone;
      row.phone_verified = patch.phoneVerified ?? false;
    }
    if (patch.givenName !== undefined) row.given_name = patch.givenName;
    if (patch.familyName !== undefined) row.family_name = patch.familyName;
    if (patch.displayName !== undefined) row.display_name = patch.displayName;
    if (patch.nickName !== undefined) row.nick_name = patch.nickName;
    if (patch.preferredLanguage !== undefined) row.preferred_language = patch.preferredLanguage;
  } else {
    if (patch.name !== undefined) row.name = patch.name;
    if (patch.description !== undefined) row.description = patch.description;
    if (patch.accessTokenType !== undefined) row.access_token_type = patch.accessTokenType;
  }
  if (Object.keys(row).length === 0) return;
  try {
    await ctx.scope.transaction(async (scope) => {
      if (row.username) await assertUsernameFree(scope, user.org_id, row.username, userId);
      await updateUser(scope, userId, row);
      await appendEvent(scope, ctx.actor, {
        orgId: user.org_id,
        resourceType: 'user',
        resourceId: userId,
        type: 'user.profile.changed',
        payload: { fields: Object.keys(row) },
      });
    });
    if (user.type === 'machine') await ctx.deps.changes.publish(ctx.scope.instanceId);
  } catch (err) {
    if (isUniqueViolation(err, 'users_username_in_org')) throw usernameTaken(row.username!);
    throw err;
  }
}

/**
 * Sets a human user's password. Managers need user.credential.write; users changing their own
 * password without it must give the current one.
 */
export async function setPassword(
  ctx: ServiceContext,
  userId: string,
  password: string,
  opts: { currentPassword?: string; changeRequired?: boolean } = {},
): Promise<void> {
  const user = await requireUser(ctx.scope, userId);
  const self = ctx.actor.type === 'user' && ctx.actor.userId === userId;
  if (!(self && opts.currentPassword !== undefined)) {
    await authorize(ctx, 'user.credential.write', { orgId: user.org_id });
    await authorizeActingAs(ctx, userId);
  }
  if (user.type !== 'human') throw ruleViolation('user.not_human', 'only human users have passwords');
  if (self && opts.currentPassword !== undefined && !(await ctx.deps.hasher.verify(user.password_hash, opts.currentPassword))) {
    // Counted like a wrong password at sign-in: a borrowed session must not become a way to guess it.
    await recordPasswordFailure(ctx, user);
    throw ruleViolation('user.password_mismatch', 'the current password is wrong');
  }
  const hash = await hashNewPassword(ctx, user.org_id, password);
  await ctx.scope.transaction(async (scope) => {
    await updateUser(scope, userId, {
      password_hash: hash,
      password_changed_at: new Date(),
      password_change_required: opts.changeRequired ?? false,
      failed_password_attempts: 0,
      ...(user.state === 'initial' ? { state: 'active' as const } : {}),
    });
    await appendEvent(scope, ctx.actor, { orgId: user.org_id, resourceType: 'user', resourceId: userId, type: 'user.password.changed' });
  });
}

const transitions: Record<'lock' | 'unlock' | 'deactivate' | 'reactivate', { from: UserState[]; to: UserState; event: string }> = {
  lock: { from: ['active', 'initial'], to: 'locked', event: 'user.locked' },
  unlock: { from: ['locked'], to: 'active', event: 'user.unlocked' },
  deactivate: { from: ['active', 'initial', 'locked'], to: 'inactive', event: 'user.deactivated' },
  reactivate: { from: ['inactive'], to: 'active', event: 'user.reactivated' },
};

async function changeState(ctx: ServiceContext, userId: string, action: keyof typeof transitions): Promise<void> {
  const user = await requireUser(ctx.scope, userId);
  await authorize(ctx, 'user.write', { orgId: user.org_id });
  const t = transitions[action];
  if (!t.from.includes(user.state)) throw ruleViolation(`user.cannot_${action}`, `a ${user.state} user cannot be ${t.event.slice(5)}`);
  await ctx.scope.transaction(async (scope) => {
    if (t.to !== 'active') await refuseLastIamOwner(scope, userId);
    await updateUser(scope, userId, { state: t.to, ...(action === 'unlock' ? { failed_password_attempts: 0 } : {}) });
    await appendEvent(scope, ctx.actor, { orgId: user.org_id, resourceType: 'user', resourceId: userId, type: t.event });
  });
  if (user.type === 'machine') await ctx.deps.changes.publish(ctx.scope.instanceId);
}

/** Locked and inactive users stay stored but cannot log in or use tokens. */
export const lockUser = (ctx: ServiceContext, userId: string) => changeState(ctx, userId, 'lock');
export const unlockUser = (ctx: ServiceContext, userId: string) => changeState(ctx, userId, 'unlock');
export const deactivateUser = (ctx: ServiceContext, userId: string) => changeState(ctx, userId, 'deactivate');
export const reactivateUser = (ctx: ServiceContext, userId: string) => changeState(ctx, userId, 'reactivate');

async function refuseLastIamOwner(scope: Scope, userId: string): Promise<void> {
  const holds = (await listMembershipsOfUser(scope, userId)).some((m) => m.level === 'instance' && m.roles.includes('IAM_OWNER'));
  if (holds && (await countOtherIamOwners(scope, userId)) === 0) {
    throw ruleViolation('user.last_iam_owner', 'the instance must keep at least one active IAM_OWNER');
  }
}

/** Deletes a user; foreign keys remove their grants, memberships, keys, tokens, metadata and IdP links. */
export async function deleteUser(ctx: ServiceContext, userId: string): Promise<void> {
  const user = await requireUser(ctx.scope, userId);
  await authorize(ctx, 'user.delete', { orgId: user.org_id });
  await ctx.scope.transaction(async (scope) => {
    await refuseLastIamOwner(scope, userId);
    await deleteUserRow(scope, userId);
    await appendEvent(scope, ctx.actor, {
      orgId: user.org_id,
      resourceType: 'user',
      resourceId: userId,
      type: 'user.removed',
      payload: { username: user.username },
    });
  });
  if (user.type === 'machine') await ctx.deps.changes.publish(ctx.scope.instanceId);
}

function checkMetadataKey(key: string): void {
  if (!key || key.length > 200) throw invalidInput('a metadata key must be 1 to 200 characters');
}

export async function setUserMetadata(ctx: ServiceContext, userId: string, key: string, value: string): Promise<void> {
  checkMetadataKey(key);
  if (value.length > 65536) throw invalidInput('a metadata value must be at most 64 KiB');
  const user = await requireUser(ctx.scope, userId);
  await authorize(ctx, 'user.write', { orgId: user.org_id });
  await ctx.scope.transaction(async (scope) => {
    await putUserMetadata(scope, userId, key, value);
    await appendEvent(scope, ctx.actor, { orgId: user.org_id, resourceType: 'user', resourceId: userId, type: 'user.metadata.set', payload: { key } });
  });
}

export async function removeUserMetadata(ctx: ServiceContext, userId: string, key: string): Promise<void> {
  const user = await requireUser(ctx.scope, userId);
  await authorize(ctx, 'user.write', { orgId: user.org_id });
  await ctx.scope.transaction(async (scope) => {
    const n = await deleteUserMetadata(scope, userId, key);
    if (n === 0) throw notFound('user metadata', key);
    await appendEvent(scope, ctx.actor, { orgId: user.org_id, resourceType: 'user', resourceId: userId, type: 'user.metadata.removed', payload: { key } });
  });
}

/** Whether the actor may read this user: same-org managers, or anyone with user.global.read. */
export async function canReadUser(ctx: ServiceContext, user: Pick<UserRow, 'org_id'>): Promise<boolean> {
  return (await isAllowed(ctx, 'user.read', { orgId: user.org_id })) || isAllowed(ctx, 'user.global.read', {});
}
