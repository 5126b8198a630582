import type { Context } from 'koa';
import { secondFactorStep } from '../domain/mfa/next-step.js';
import { confirmTotpEnrolment, hasVerifiedTotp, startTotpEnrolment, verifySecondFactor } from '../domain/mfa/service.js';
import { userById, type SecondFactors, type UserRow } from '../domain/sign-in.js';
import { DomainError } from '../shared/errors.js';
import { finishLogin, refusedForClient } from './finish.js';
import { asUser, loginState, saveLoginState, type Step } from './interaction.js';
import { errorPage, lookFor, sendBranded, withLook, type Look } from './look.js';
import { checkAssertion, completeLogin, showPasskeySetup } from './passkey.js';
import { secondFactorForm, secondFactorsHereFor } from './passkey-forms.js';

/**
 * The second factor: after the password or an external IdP, a TOTP code where the user has one
 * or the login policy forces one (then enrolment, with recovery codes); the factor's checks and
 * attempt limits are the domain's (src/domain/mfa).
 */

/**
 * After the password or an external IdP: a second factor where the user has one or the policy
 * forces one. `secondFactors`: the user's, when this request has read them already (the
 * password step, with the login name).
 */
export async function afterFirstFactor(
  ctx: Context,
  step: Step,
  look: Look,
  user: UserRow,
  amr: string[],
  local: boolean,
  opts: { wantsMfa?: boolean; secondFactors?: SecondFactors } = {},
): Promise<void> {
  if (await refusedForClient(ctx, step, user)) return;
  // The rule is the domain's (the access explanation applies it too).
  const has = opts.secondFactors ?? (await secondFactorsHereFor(ctx, step, user));
  const next = secondFactorStep(look.policy, has, local, opts.wantsMfa ?? false);
  if (next.step === 'none') return completeLogin(ctx, step, look, user, amr);
  if (next.step === 'refused') return errorPage(ctx, step, 403, 'login.no_second_factor_allowed', 'The login policy forces a second factor but allows none.');
  await saveLoginState(step, { pendingUserId: user.id, pendingAmr: amr, passkeySetup: undefined });
  if (next.step === 'check') return showMfa(ctx, step, look, user, next, '');
  // Set one up: an authenticator app where allowed (a passkey offered instead), else a passkey.
  if (!next.totp) return showPasskeySetup(ctx, step, look, user, 'mfa');
  return showMfaSetup(ctx, step, look, user, '', next.passkey);
}

/** The second factor page: a code from the authenticator app, the user's passkey, or both. */
async function showMfa(
  ctx: Context,
  step: Step,
  look: Look,
  user: UserRow,
  offer: { totp: boolean; passkey: boolean },
  error: string,
  status = error ? 400 : 200,
): Promise<void> {
  const passkey = offer.passkey ? await secondFactorForm(ctx, step, look, user) : undefined;
  return sendBranded(ctx, look, 'login/mfa', 'mfa.title', { uid: step.uid, csrf: step.csrf, error, totp: offer.totp, passkey }, status);
}

async function offerOf(ctx: Context, step: Step, look: Look, user: UserRow): Promise<{ totp: boolean; passkey: boolean }> {
  const s = secondFactorStep(look.policy, await secondFactorsHereFor(ctx, step, user), true);
  return { totp: s.step === 'check' ? s.totp : true, passkey: s.step === 'check' && s.passkey };
}

async function showMfaSetup(ctx: Context, step: Step, look: Look, user: UserRow, error: string, passkeyInstead = false): Promise<void> {
  const enrolment = await startTotpEnrolment(asUser(step, user), user.id, {
    issuer: look.branding.orgName || 'Tessera',
    accountName: user.email ?? user.username,
  });
  return sendBranded(
    ctx,
    look,
    'login/mfa-setup',
    'mfa.setupTitle',
    { uid: step.uid, csrf: step.csrf, error, passkeyInstead, ...enrolment },
    error ? 400 : 200,
  );
}

async function pendingUser(ctx: Context, step: Step): Promise<{ user: UserRow; look: Look } | undefined> {
  const id = loginState(step).pendingUserId;
  const user = id ? await userById(step.oidc.scope, id) : undefined;
  if (!user || user.state !== 'active') {
    await errorPage(ctx, step, 400, 'login.unexpected_step', 'This sign-in step is not expected now. Please start again.');
    return undefined;
  }
  return { user, look: await lookFor(ctx, step, { userOrgId: user.org_id }) };
}

/** POST /ui/login/{uid}/mfa: a TOTP or recovery code. */
export async function submitMfa(ctx: Context, step: Step, code: string): Promise<void> {
  await withLook(ctx, async () => {
    const p = await pendingUser(ctx, step);
    if (!p) return;
    const show = async (error: string, status: number) => showMfa(ctx, step, p.look, p.user, await offerOf(ctx, step, p.look, p.user), error, status);
    try {
      const r = await verifySecondFactor(asUser(step, p.user), p.user.id, code);
      if (!r.ok) return show(p.look.t('mfa.invalidCode'), 400);
    } catch (err) {
      if (err instanceof DomainError && err.code === 'rate_limited') return show(p.look.t('mfa.tooManyAttempts'), 429);
      throw err;
    }
    return completeLogin(ctx, step, p.look, p.user, [...(loginState(step).pendingAmr ?? []), 'otp']);
  });
}

/** POST /ui/login/{uid}/mfa/passkey: the user's passkey as the second factor. */
export async function submitMfaPasskey(ctx: Context, step: Step, input: { challengeId: string; response: string }): Promise<void> {
  await withLook(ctx, async () => {
    const p = await pendingUser(ctx, step);
    if (!p) return;
    const check = await checkAssertion(step, input);
    if (!check.ok || check.userId !== p.user.id)
      return showMfa(ctx, step, p.look, p.user, await offerOf(ctx, step, p.look, p.user), p.look.t('passkey.notAccepted'));
    return completeLogin(ctx, step, p.look, p.user, [...(loginState(step).pendingAmr ?? []), 'user']);
  });
}

/** GET /ui/login/{uid}/mfa/passkey: a passkey instead of an authenticator app, while none is set up yet. */
export async function choosePasskeySetup(ctx: Context, step: Step): Promise<void> {
  await withLook(ctx, async () => {
    const p = await pendingUser(ctx, step);
    if (!p) return;
    const s = secondFactorStep(p.look.policy, await secondFactorsHereFor(ctx, step, p.user), true, true);
    if (s.step !== 'setup' || !s.passkey)
      return errorPage(ctx, step, 400, 'login.unexpected_step', 'This sign-in step is not expected now. Please start again.');
    return showPasskeySetup(ctx, step, p.look, p.user, 'mfa');
  });
}

/** POST /ui/login/{uid}/mfa/setup: the first code of a new authenticator confirms the enrolment. */
export async function submitMfaSetup(ctx: Context, step: Step, code: string): Promise<void> {
  await withLook(ctx, async () => {
    const p = await pendingUser(ctx, step);
    if (!p) return;
    try {
      const { recoveryCodes } = await confirmTotpEnrolment(asUser(step, p.user), p.user.id, code);
      await saveLoginState(step, { pendingAmr: [...(loginState(step).pendingAmr ?? []), 'otp'] });
      return sendBranded(ctx, p.look, 'login/recovery-codes', 'mfa.recoveryCodesTitle', { uid: step.uid, csrf: step.csrf, codes: recoveryCodes });
    } catch (err) {
      if (!(err instanceof DomainError)) throw err;
      // A wrong code: the page comes again with a fresh secret (the unverified one is replaced).
      return showMfaSetup(ctx, step, p.look, p.user, p.look.t(err.code === 'rate_limited' ? 'mfa.tooManyAttempts' : 'mfa.invalidCode'));
    }
  });
}

/** POST /ui/login/{uid}/mfa/done: after the recovery codes were shown, the enrolment is verified, so the login finishes. */
export async function finishMfaSetup(ctx: Context, step: Step): Promise<void> {
  const p = await pendingUser(ctx, step);
  if (!p) return;
  if (!(await hasVerifiedTotp({ scope: step.oidc.scope }, p.user.id))) {
    return errorPage(ctx, step, 400, 'login.unexpected_step', 'This sign-in step is not expected now. Please start again.');
  }
  return finishLogin(ctx, step, p.user.id, loginState(step).pendingAmr ?? ['pwd', 'otp']);
}
