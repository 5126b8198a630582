import { permissionDenied, ruleViolation } from '../../shared/errors.js';
import { appendEvent } from '../audit/repository.js';
import type { ServiceContext } from '../deps.js';
import { smsAvailable } from '../instance/sms-provider.js';
import { getUserCode } from './code-repository.js';
import { codeIssuedWithin, issueUserCode, useUserCode } from './codes.js';
import { updateUser, type UserRow } from './repository.js';
import { requireUser } from './service.js';

/**
 * Phone verification, as ZITADEL does it: a changed phone number is stored unverified; a code
 * goes to it by SMS (the instance's SMS provider, src/domain/instance/sms-provider.ts) and the
 * number is verified when the code comes back. The code is six digits, stored hashed, valid ten
 * minutes, void after five wrong tries (src/domain/user/codes.ts), compared in constant time,
 * and proves only the number it was sent to. Users verify their own number.
 */
export const PHONE_CODE_TTL_MIN = 10;
/** A new code at most once a minute: a form must not flood a phone (or the SMS bill). */
export const PHONE_CODE_RESEND_S = 60;

async function ownHuman(ctx: ServiceContext, userId: string): Promise<UserRow> {
  if (!(ctx.actor.type === 'user' && ctx.actor.userId === userId)) throw permissionDenied('user.self');
  const user = await requireUser(ctx.scope, userId);
  if (user.type !== 'human') throw ruleViolation('user.not_human', 'only human users have a phone');
  return user;
}

/**
 * A new code for the user's unverified phone number, for the caller to send (Notifier.phoneCode).
 * Refused without a number, when it is verified already, without an SMS provider
 * (phone.no_sms_provider) and within a minute of the last code (phone.code_recently_sent).
 */
export async function startPhoneVerification(ctx: ServiceContext, userId: string): Promise<{ phone: string; code: string; expiresMin: number }> {
  const user = await ownHuman(ctx, userId);
  if (!user.phone) throw ruleViolation('phone.none', 'there is no phone number to verify');
  if (user.phone_verified) throw ruleViolation('phone.already_verified', 'the phone number is verified already');
  if (!(await smsAvailable(ctx.scope)))
    throw ruleViolation('phone.no_sms_provider', 'the instance has no SMS provider, so phone numbers cannot be verified yet');
  if (await codeIssuedWithin(ctx, userId, 'phone_verification', PHONE_CODE_RESEND_S)) {
    throw ruleViolation('phone.code_recently_sent', `a code was sent less than ${PHONE_CODE_RESEND_S} seconds ago`);
  }
  const code = await issueUserCode(ctx, user, 'phone_verification', { ttlMin: PHONE_CODE_TTL_MIN, email: user.phone, digits: true });
  return { phone: user.phone, code, expiresMin: PHONE_CODE_TTL_MIN };
}

/** Verifies the phone with the code sent to it; false for a wrong, expired or used-up code, or one sent to another number. */
export async function confirmPhone(ctx: ServiceContext, userId: string, code: string): Promise<boolean> {
  const user = await ownHuman(ctx, userId);
  const used = await useUserCode(ctx, user, 'phone_verification', code.replace(/\s/g, ''));
  if (!used.ok || !user.phone || used.email !== user.phone) return false;
  if (user.phone_verified) return true;
  await ctx.scope.transaction(async (scope) => {
    await updateUser(scope, userId, { phone_verified: true });
    await appendEvent(scope, ctx.actor, { orgId: user.org_id, resourceType: 'user', resourceId: userId, type: 'user.phone.verified' });
  });
  return true;
}

/** What the account page shows about the phone: whether SMS can be sent, and whether a code is out for the current number. */
export async function ownPhoneState(ctx: ServiceContext, userId: string): Promise<{ smsAvailable: boolean; codePending: boolean }> {
  const user = await ownHuman(ctx, userId);
  const pending = await getUserCode(ctx.scope, userId, 'phone_verification');
  return {
    smsAvailable: await smsAvailable(ctx.scope),
    codePending: Boolean(pending && pending.email === user.phone && new Date(pending.expires_at).getTime() > Date.now()),
  };
}
