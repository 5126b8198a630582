import { randomInt } from 'node:crypto';
import { constantTimeEqual, sha256 } from '../../shared/crypto.js';
import { ruleViolation } from '../../shared/errors.js';
import { appendEvent } from '../audit/repository.js';
import type { ServiceContext } from '../deps.js';
import { checkPasswordComplexity, getEffectivePolicy } from '../policy/service.js';
import { deleteUserCode, getUserCode, replaceUserCode, setUserCodeAttempts, userCodeIssuedAt, type CodeKind } from './code-repository.js';
import { getUser, updateUser, type UserRow } from './repository.js';
import { setPassword } from './service.js';

/**
 * One-time codes of the account journeys, sent by mail (src/notify): email verification, password
 * reset, initial password. One live code per user and kind (a new one replaces the old), stored
 * hashed, expiring, and void after a few wrong tries so the code space cannot be walked. Every
 * change is an audit event. The callers are the sign-in (before anyone is authenticated) and the
 * notifications, so nothing here authorizes: holding the code is the proof.
 */
export type { CodeKind } from './code-repository.js';
export const MAX_CODE_ATTEMPTS = 5;

const alphabet = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789';
const hashCode = (userId: string, kind: CodeKind, code: string) => sha256(`${kind}:${userId}:${code.trim().toUpperCase()}`);
type CodeUser = Pick<UserRow, 'id' | 'org_id'>;
const onUser = (user: CodeUser) => ({ orgId: user.org_id, resourceType: 'user', resourceId: user.id });

/**
 * A new code of this kind for the user (replacing any earlier one); `email`: the address it goes
 * to, for verification codes (the phone number, for phone_verification). `digits`: a code of six
 * digits, to be typed from an SMS.
 */
export async function issueUserCode(
  ctx: ServiceContext,
  user: CodeUser,
  kind: CodeKind,
  opts: { ttlMin: number; email?: string; digits?: boolean },
): Promise<string> {
  const code = opts.digits ? String(randomInt(1_000_000)).padStart(6, '0') : Array.from({ length: 8 }, () => alphabet[randomInt(alphabet.length)]).join('');
  const expiresAt = new Date(Date.now() + opts.ttlMin * 60_000);
  await ctx.scope.transaction(async (scope) => {
    await replaceUserCode(scope, { user_id: user.id, kind, code_hash: hashCode(user.id, kind, code), email: opts.email ?? null, expires_at: expiresAt });
    await appendEvent(scope, ctx.actor, { ...onUser(user), type: 'user.code.added', payload: { kind, expiresAt } });
  });
  return code;
}

/** Whether a code of this kind went out less than `seconds` ago (so a form cannot be used to flood an inbox). */
export async function codeIssuedWithin(ctx: Pick<ServiceContext, 'scope'>, userId: string, kind: CodeKind, seconds: number): Promise<boolean> {
  const at = await userCodeIssuedAt(ctx.scope, userId, kind);
  return Boolean(at && Date.now() - at.getTime() < seconds * 1000);
}

/**
 * Uses the code once: ok (and the code is gone) when it matches and is still valid; a wrong code
 * counts a try; an expired or exhausted code is removed. `email`: the address a verification code went to.
 */
export async function useUserCode(ctx: ServiceContext, user: CodeUser, kind: CodeKind, code: string): Promise<{ ok: boolean; email?: string | null }> {
  return ctx.scope.transaction(async (scope) => {
    const row = await getUserCode(scope, user.id, kind, { lock: true });
    if (!row) return { ok: false };
    if (new Date(row.expires_at).getTime() < Date.now() || row.attempts >= MAX_CODE_ATTEMPTS) {
      await deleteUserCode(scope, user.id, kind);
      await appendEvent(scope, ctx.actor, {
        ...onUser(user),
        type: 'user.code.removed',
        payload: { kind, reason: row.attempts >= MAX_CODE_ATTEMPTS ? 'too_many_attempts' : 'expired' },
      });
      return { ok: false };
    }
    if (!constantTimeEqual(row.code_hash, hashCode(user.id, kind, code))) {
      await setUserCodeAttempts(scope, user.id, kind, row.attempts + 1);
      await appendEvent(scope, ctx.actor, { ...onUser(user), type: 'user.code.check.failed', payload: { kind, attempts: row.attempts + 1 } });
      return { ok: false };
    }
    await deleteUserCode(scope, user.id, kind);
    await appendEvent(scope, ctx.actor, { ...onUser(user), type: 'user.code.used', payload: { kind } });
    return { ok: true, email: row.email };
  });
}

/** Marks the user's email verified, with its audit event; nothing when it already is. */
async function markEmailVerified(ctx: ServiceContext, user: UserRow): Promise<void> {
  if (user.email_verified) return;
  await ctx.scope.transaction(async (scope) => {
    await updateUser(scope, user.id, { email_verified: true });
    await appendEvent(scope, ctx.actor, { ...onUser(user), type: 'user.email.verified' });
  });
}

/**
 * Verifies the user's email with a mailed code. The code proves the address it was sent to,
 * not one the user switched to since. True when the address is verified now.
 */
export async function verifyEmailWithCode(ctx: ServiceContext, user: UserRow, code: string): Promise<boolean> {
  const used = await useUserCode(ctx, user, 'email_verification', code);
  if (!used.ok || !used.email || used.email.toLowerCase() !== user.email?.toLowerCase()) return false;
  await markEmailVerified(ctx, user);
  return true;
}

/**
 * Sets a new password with a mailed code (password reset, or the initial password of a user an
 * admin created). The complexity rules are checked before the code is used, so a weak password
 * does not use it up. The initial password's code also proves the mailbox: the address is verified.
 * False when the code is wrong or expired.
 */
export async function setPasswordWithCode(
  ctx: ServiceContext,
  user: UserRow,
  kind: 'password_reset' | 'initial_password',
  code: string,
  password: string,
): Promise<boolean> {
  const unmet = checkPasswordComplexity(await getEffectivePolicy(ctx.scope, 'password_complexity', user.org_id), password);
  if (unmet.length) throw ruleViolation('password.complexity', `the password ${unmet.join(', ')}`, { unmet });
  if (!(await useUserCode(ctx, user, kind, code)).ok) return false;
  await setPassword(ctx, user.id, password);
  if (kind === 'initial_password') await markEmailVerified(ctx, (await getUser(ctx.scope, user.id))!);
  return true;
}
