import { invalidInput, permissionDenied, ruleViolation } from '../../shared/errors.js';
import { appendEvent } from '../audit/repository.js';
import type { ServiceContext } from '../deps.js';
import { updateUser, type UserRow } from './repository.js';
import { preferredLoginName } from './login-name-repository.js';
import { requireUser } from './service.js';

/**
 * What users change about themselves on the account page, without any manager permission: their
 * names, phone and preferred language. Their login name, their email's verified state and their
 * org are not theirs to change (the email changes through a mailed code).
 */
export interface OwnProfilePatch {
  givenName?: string | null;
  familyName?: string | null;
  displayName?: string | null;
  nickName?: string | null;
  phone?: string | null;
  preferredLanguage?: string | null;
}

const MAX = 200;
const clean = (v: string | null | undefined, field: string): string | null | undefined => {
  if (v === undefined || v === null) return v;
  const s = v.trim();
  if (s.length > MAX) throw invalidInput(`${field} has at most ${MAX} characters`);
  return s || null;
};

export async function updateOwnProfile(ctx: ServiceContext, userId: string, patch: OwnProfilePatch): Promise<void> {
  if (!(ctx.actor.type === 'user' && ctx.actor.userId === userId)) throw permissionDenied('user.self');
  const user = await requireUser(ctx.scope, userId);
  if (user.type !== 'human') throw ruleViolation('user.not_human', 'only human users have a profile');
  const row: Partial<UserRow> = {};
  const set = <K extends keyof UserRow>(key: K, value: UserRow[K] | undefined) => {
    if (value !== undefined && value !== user[key]) row[key] = value;
  };
  set('given_name', clean(patch.givenName, 'givenName'));
  set('family_name', clean(patch.familyName, 'familyName'));
  set('display_name', clean(patch.displayName, 'displayName'));
  set('nick_name', clean(patch.nickName, 'nickName'));
  const language = clean(patch.preferredLanguage, 'preferredLanguage');
  if (language && !/^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$/.test(language)) throw invalidInput(`"${language}" is not a language tag`);
  set('preferred_language', language);
  const phone = clean(patch.phone, 'phone');
  if (phone !== undefined && phone !== user.phone) {
    row.phone = phone;
    row.phone_verified = false;
  }
  if (Object.keys(row).length === 0) return;
  await ctx.scope.transaction(async (scope) => {
    await updateUser(scope, userId, row);
    await appendEvent(scope, ctx.actor, {
      orgId: user.org_id,
      resourceType: 'user',
      resourceId: userId,
      type: 'user.profile.changed',
      payload: { fields: Object.keys(row) },
    });
  });
}

/** What the account page's profile shows: the signed-in user's own fields. */
export interface OwnAccountProfile {
  username: string;
  loginName: string;
  email: string | null;
  emailVerified: boolean;
  phone: string | null;
  phoneVerified: boolean;
  givenName: string | null;
  familyName: string | null;
  displayName: string | null;
  nickName: string | null;
  preferredLanguage: string | null;
}

export async function ownAccountProfile(ctx: ServiceContext): Promise<OwnAccountProfile> {
  if (ctx.actor.type !== 'user') throw permissionDenied('user.self');
  const user = await requireUser(ctx.scope, ctx.actor.userId);
  return {
    username: user.username,
    loginName: await preferredLoginName(ctx.scope, user),
    email: user.email,
    emailVerified: user.email_verified,
    phone: user.phone,
    phoneVerified: user.phone_verified,
    givenName: user.given_name,
    familyName: user.family_name,
    displayName: user.display_name,
    nickName: user.nick_name,
    preferredLanguage: user.preferred_language,
  };
}
