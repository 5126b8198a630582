import { appendEvent } from '../audit/repository.js';
import type { ServiceContext } from '../deps.js';
import { getEffectivePolicy } from '../policy/service.js';
import { countFailedPasswordAttempt, resetFailedPasswordAttempts, updateUser, type UserRow } from './repository.js';

/**
 * The lockout policy: wrong passwords are counted per user, and at the org's maxPasswordAttempts
 * the user is locked until an admin unlocks them. The password step of the sign-in reports
 * here (src/login/password-check.ts); every change is an audit event.
 */
type CheckedUser = Pick<UserRow, 'id' | 'org_id' | 'failed_password_attempts'>;

/** Counts a wrong password; locks the user when it reaches the lockout policy's maxPasswordAttempts. */
export async function recordPasswordFailure(ctx: ServiceContext, user: Pick<UserRow, 'id' | 'org_id'>): Promise<{ locked: boolean }> {
  const policy = await getEffectivePolicy(ctx.scope, 'lockout', user.org_id);
  const on = { orgId: user.org_id, resourceType: 'user', resourceId: user.id };
  return ctx.scope.transaction(async (scope) => {
    const row = await countFailedPasswordAttempt(scope, user.id);
    if (!row) return { locked: false };
    await appendEvent(scope, ctx.actor, { ...on, type: 'user.password.check.failed', payload: { attempts: row.failed_password_attempts } });
    if (policy.maxPasswordAttempts === 0 || row.failed_password_attempts < policy.maxPasswordAttempts || row.state === 'locked') {
      return { locked: false };
    }
    await updateUser(scope, user.id, { state: 'locked' });
    await appendEvent(scope, ctx.actor, { ...on, type: 'user.locked', payload: { reason: 'max_password_attempts', attempts: row.failed_password_attempts } });
    return { locked: true };
  });
}

/** A right password clears the count of wrong ones (a write, and an event, only when there is a count). */
export async function clearPasswordFailures(ctx: ServiceContext, user: CheckedUser): Promise<void> {
  if (user.failed_password_attempts === 0) return;
  await ctx.scope.transaction(async (scope) => {
    await resetFailedPasswordAttempts(scope, user.id);
    await appendEvent(scope, ctx.actor, {
      orgId: user.org_id,
      resourceType: 'user',
      resourceId: user.id,
      type: 'user.password.attempts.reset',
      payload: { previous: user.failed_password_attempts },
    });
  });
}
