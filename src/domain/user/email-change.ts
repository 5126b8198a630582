import { invalidInput, permissionDenied, ruleViolation } from '../../shared/errors.js';
import { appendEvent } from '../audit/repository.js';
import type { ServiceContext } from '../deps.js';
import { codeIssuedWithin, issueUserCode, useUserCode } from './codes.js';
import { getUserCode } from './code-repository.js';
import { updateUser } from './repository.js';
import { checkEmail, requireUser } from './service.js';

/**
 * A user changes their own email address on the account page. The new address is not theirs
 * until they prove they read it: a code goes to the new address (src/notify mails it), and only
 * that code, typed back or followed as a link, replaces the old address, verified. Until then the
 * old address stays, and so do its password resets.
 */
export const EMAIL_CHANGE_TTL_MIN = 60;
/** One code a minute: the form must not become a way to mail strangers. */
export const EMAIL_CHANGE_RESEND_S = 60;

function requireSelf(ctx: ServiceContext, userId: string): void {
  if (!(ctx.actor.type === 'user' && ctx.actor.userId === userId)) throw permissionDenied('user.self');
}

/** Starts a change to `email`: the code to mail to it, and the address it goes to. */
export async function startEmailChange(ctx: ServiceContext, userId: string, email: string): Promise<{ code: string; email: string }> {
  requireSelf(ctx, userId);
  const user = await requireUser(ctx.scope, userId);
  if (user.type !== 'human') throw ruleViolation('user.not_human', 'only human users have an email address');
  const next = checkEmail(email);
  if (next.toLowerCase() === user.email?.toLowerCase()) throw invalidInput('this is already your email address');
  if (await codeIssuedWithin(ctx, userId, 'email_change', EMAIL_CHANGE_RESEND_S)) {
    throw ruleViolation('user.email_change_too_soon', 'a code was sent less than a minute ago');
  }
  const code = await issueUserCode(ctx, user, 'email_change', { ttlMin: EMAIL_CHANGE_TTL_MIN, email: next });
  return { code, email: next };
}

/** The address a change is waiting to be confirmed for, if any (and not expired). */
export async function pendingEmailChange(ctx: ServiceContext, userId: string): Promise<{ email: string; expiresAt: Date } | undefined> {
  requireSelf(ctx, userId);
  const row = await getUserCode(ctx.scope, userId, 'email_change');
  if (!row?.email || new Date(row.expires_at).getTime() < Date.now()) return undefined;
  return { email: row.email, expiresAt: new Date(row.expires_at) };
}

/**
 * Confirms with the mailed code: the new address replaces the old one, verified; the old one is
 * given back for the notice to it. False when the code is wrong or expired.
 */
export async function confirmEmailChange(
  ctx: ServiceContext,
  userId: string,
  code: string,
): Promise<{ ok: false } | { ok: true; email: string; previousEmail: string | null }> {
  requireSelf(ctx, userId);
  const user = await requireUser(ctx.scope, userId);
  const used = await useUserCode(ctx, user, 'email_change', code);
  if (!used.ok || !used.email) return { ok: false };
  const email = used.email;
  await ctx.scope.transaction(async (scope) => {
    await updateUser(scope, userId, { email, email_verified: true });
    await appendEvent(scope, ctx.actor, {
      orgId: user.org_id,
      resourceType: 'user',
      resourceId: userId,
      type: 'user.email.changed',
      payload: { verified: true },
    });
  });
  return { ok: true, email, previousEmail: user.email ?? null };
}
