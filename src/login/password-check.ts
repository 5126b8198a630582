import type { Scope } from '../db/scope.js';
import type { ServiceContext, ServiceDeps } from '../domain/deps.js';
import { MAX_PASSWORD_LENGTH } from '../domain/policy/password.js';
import { systemPrincipal } from '../domain/principal.js';
import { clearPasswordFailures, recordPasswordFailure } from '../domain/user/lockout.js';
import type { UserRow } from '../domain/sign-in.js';
import type { LoginThrottle } from './throttle.js';

/**
 * The password step of a login. Every failure looks the same to the person typing
 * ('invalid_credentials'): unknown user, wrong password, locked, inactive. Only the throttle
 * answers differently, because it must tell the client to wait.
 */
export type PasswordCheckResult =
  { ok: true; user: UserRow } | { ok: false; reason: 'invalid_credentials' } | { ok: false; reason: 'throttled'; retryAfterS: number };

export interface PasswordCheckInput {
  /** the user the login name resolved to, if any */
  user: UserRow | undefined;
  /** what was typed: the throttle key when no user matched */
  loginName: string;
  password: string;
  /** the client's address */
  address: string;
}

const invalid = { ok: false, reason: 'invalid_credentials' } as const;

export async function checkPassword(
  env: { scope: Scope; deps: ServiceDeps; throttle: LoginThrottle },
  input: PasswordCheckInput,
): Promise<PasswordCheckResult> {
  const { scope, deps, throttle } = env;
  // Before anyone is authenticated: the lockout's writes are the system's.
  const sys: ServiceContext = { deps, scope, actor: systemPrincipal };
  const key = { instanceId: scope.instanceId, account: input.user?.id ?? input.loginName.trim(), address: input.address };
  // Before argon2: a flood is refused at the price of a counter lookup.
  // Counted by why (fixed codes, for /metrics only): the person typing sees one failure for all.
  const count = (outcome: 'success' | 'failure', reason: string) => deps.metrics?.signIn(outcome, reason);
  const verdict = await throttle.check(key);
  if (!verdict.allowed) {
    count('failure', 'throttled');
    return { ok: false, reason: 'throttled', retryAfterS: verdict.retryAfterS };
  }
  if (input.password.length > MAX_PASSWORD_LENGTH || input.password.length === 0) {
    await throttle.fail(key);
    count('failure', 'password_invalid');
    return invalid;
  }
  const user = input.user?.type === 'human' ? input.user : undefined;
  // Unknown, machine and password-less users still cost one hash, so timing does not tell them apart.
  const matches = await deps.hasher.verify(user?.password_hash, input.password);
  if (!user || !matches || user.state !== 'active') {
    await throttle.fail(key);
    count('failure', !user ? 'user_not_found' : !matches ? 'password_invalid' : `user_${user.state === 'locked' ? 'locked' : 'inactive'}`);
    // A locked user's right password must not count: it would look different only by the counter.
    if (user && !matches && (user.state === 'active' || user.state === 'initial')) await recordPasswordFailure(sys, user);
    return invalid;
  }
  // Nothing counted against the account at the check: no delete to send (a failure that raced in
  // meanwhile stays counted, which only errs on the strict side).
  if (!verdict.accountClean) await throttle.succeed(key);
  count('success', 'password');
  await clearPasswordFailures(sys, user);
  return { ok: true, user };
}
