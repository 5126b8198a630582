import { DomainError } from '../shared/errors.js';
import type { ServiceContext } from './deps.js';

/**
 * Changes to how an account is protected (an authenticator app added or removed, new recovery
 * codes, a passkey added) need the user to have proved who they are recently, whichever door
 * they come through: a session left open on a shared computer, or a stolen access token, must
 * not be enough to swap the second factor. The rule holds for users acting on their own account;
 * a manager resetting another user's factors is checked by permissions instead, and the system
 * and `tessera apply` are trusted.
 *
 * "Recently" is `login.freshSignInS` (five minutes by default), measured from the auth_time of
 * the sign-in behind the caller's session or token (Principal.authTime). A caller without one
 * (a personal access token) never counts as recent.
 */
export const REAUTHENTICATION_REQUIRED = 'reauthentication_required';

/** Throws 403 reauthentication_required when the caller acts on their own account `userId` with a sign-in that is too old. */
export function requireRecentSignIn(ctx: ServiceContext, userId: string, nowMs = Date.now()): void {
  const actor = ctx.actor;
  if (actor.type !== 'user' || actor.userId !== userId) return;
  const maxAgeS = ctx.deps.config.login.freshSignInS;
  const authTime = actor.authTime ?? 0;
  if (authTime * 1000 > nowMs - maxAgeS * 1000) return;
  throw new DomainError('permission_denied', `this change needs a sign-in at most ${maxAgeS} seconds old; sign in again`, REAUTHENTICATION_REQUIRED, {
    maxAgeS,
  });
}

export const isReauthenticationRequired = (err: unknown): boolean => err instanceof DomainError && err.reason === REAUTHENTICATION_REQUIRED;
