import type { Context } from 'koa';
import { finishPasskeyRegistration, startPasskeyRegistration, verifyPasskeyAssertion, type PasskeyCheck } from '../domain/passkey/service.js';
import { userById, type UserRow } from '../domain/sign-in.js';
import { DomainError } from '../shared/errors.js';
import { PASSWORDLESS_AMR } from './amr.js';
import { finishLogin, refusedForClient } from './finish.js';
import { asUser, loginState, saveLoginState, type Step } from './interaction.js';
import { errorPage, lookFor, sendBranded, withLook, type Look } from './look.js';
import { userFitsContext } from './org-context.js';
import { showLoginName } from './pages.js';
import { hasPasskeyHere, relyingParty, type PasskeyForm } from './passkey-forms.js';

/**
 * Passkeys in the login (the ceremonies and their rules are src/domain/passkey's): signing in
 * with a passkey alone from the login name page (a button, and the browser's autofill), a passkey
 * as the second factor after the password, adding one when the policy forces a second factor or
 * asks users to add one after a password sign-in. The relying party is the instance domain the
 * browser is on; every ceremony's challenge is bound to the interaction.
 */

function parseResponse(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return undefined;
  }
}

export function checkAssertion(step: Step, input: { challengeId: string; response: string }): Promise<PasskeyCheck> {
  return verifyPasskeyAssertion(
    { scope: step.oidc.scope, deps: step.services.deps },
    { challengeId: input.challengeId, binding: step.uid, response: parseResponse(input.response) },
  );
}

/**
 * POST /ui/login/{uid}/passkey: a passkey alone. The user it names must be active, fit the
 * login's org scope and belong to an org whose policy allows passwordless sign-in; it counts as
 * two factors (ZITADEL's amr: user, mfa), so no second factor is asked.
 */
export async function submitPasswordless(ctx: Context, step: Step, input: { challengeId: string; response: string }): Promise<void> {
  const refuse = (look: Look, message: string) => showLoginName(ctx, step, look, '', message);
  await withLook(ctx, async () => {
    const look0 = await lookFor(ctx, step);
    const check = await checkAssertion(step, input);
    const user = check.ok ? await userById(step.oidc.scope, check.userId) : undefined;
    if (!check.ok || !user || user.type !== 'human' || user.state !== 'active' || !userFitsContext(look0.org, user)) {
      return refuse(look0, look0.t('passkey.notAccepted'));
    }
    const look = await lookFor(ctx, step, { userOrgId: user.org_id });
    if (look.policy.passwordlessType !== 'allowed') return refuse(look, look.t('passkey.passwordlessNotAllowed'));
    if (await refusedForClient(ctx, step, user)) return;
    return finishLogin(ctx, step, user.id, PASSWORDLESS_AMR);
  });
}

// ---- adding a passkey during the login ----

/**
 * The page that adds a passkey for the user who is signing in: to enrol a second factor the
 * policy forces ('mfa': it then counts as one), or because the policy asks after a password
 * sign-in ('prompt': skippable, adds nothing to the sign-in).
 */
export async function showPasskeySetup(ctx: Context, step: Step, look: Look, user: UserRow, purpose: 'mfa' | 'prompt', error = ''): Promise<void> {
  await saveLoginState(step, { pendingUserId: user.id, passkeySetup: purpose });
  const { challengeId, options } = await startPasskeyRegistration(asUser(step, user), user.id, { rp: relyingParty(ctx, look), binding: step.uid });
  const form: PasskeyForm = { action: `/ui/login/${step.uid}/passkey/register`, mode: 'register', challengeId, options: JSON.stringify(options) };
  return sendBranded(
    ctx,
    look,
    'login/passkey-setup',
    purpose === 'prompt' ? 'passkey.promptTitle' : 'passkey.setupTitle',
    {
      uid: step.uid,
      csrf: step.csrf,
      error,
      passkey: form,
      purpose,
    },
    error ? 400 : 200,
  );
}

/**
 * Every local login with its factors passed ends here: first the prompt to add a passkey, where
 * the policy asks for one after a password sign-in and the user has none on this domain.
 */
export async function completeLogin(ctx: Context, step: Step, look: Look, user: UserRow, amr: string[]): Promise<void> {
  const prompt = look.policy.promptPasskeyAfterPassword && look.policy.passwordlessType === 'allowed' && amr.includes('pwd');
  if (prompt && !(await hasPasskeyHere(ctx, step, user))) {
    await saveLoginState(step, { pendingAmr: amr });
    return showPasskeySetup(ctx, step, look, user, 'prompt');
  }
  return finishLogin(ctx, step, user.id, amr, user);
}

async function pendingUser(ctx: Context, step: Step): Promise<{ user: UserRow; look: Look } | undefined> {
  const id = loginState(step).pendingUserId;
  const user = id ? await userById(step.oidc.scope, id) : undefined;
  if (!user || user.state !== 'active' || !loginState(step).passkeySetup) {
    await errorPage(ctx, step, 400, 'login.unexpected_step', 'This sign-in step is not expected now. Please start again.');
    return undefined;
  }
  return { user, look: await lookFor(ctx, step, { userOrgId: user.org_id }) };
}

/** POST /ui/login/{uid}/passkey/register: the new passkey; then the login finishes. */
export async function submitPasskeySetup(ctx: Context, step: Step, input: { challengeId: string; response: string; name?: string }): Promise<void> {
  await withLook(ctx, async () => {
    const p = await pendingUser(ctx, step);
    if (!p) return;
    const state = loginState(step);
    try {
      await finishPasskeyRegistration(asUser(step, p.user), p.user.id, {
        challengeId: input.challengeId,
        binding: step.uid,
        response: parseResponse(input.response),
        name: input.name,
      });
    } catch (err) {
      if (!(err instanceof DomainError)) throw err;
      return showPasskeySetup(ctx, step, p.look, p.user, state.passkeySetup!, p.look.t('passkey.notAdded'));
    }
    const amr = [...(state.pendingAmr ?? []), ...(state.passkeySetup === 'mfa' ? ['user'] : [])];
    await saveLoginState(step, { passkeySetup: undefined });
    return finishLogin(ctx, step, p.user.id, amr);
  });
}

/** POST /ui/login/{uid}/passkey/skip: not now (only for the prompt; a forced second factor cannot be skipped). */
export async function skipPasskeySetup(ctx: Context, step: Step): Promise<void> {
  const p = await pendingUser(ctx, step);
  if (!p) return;
  const state = loginState(step);
  if (state.passkeySetup !== 'prompt') return errorPage(ctx, step, 400, 'login.unexpected_step', 'This sign-in step is not expected now. Please start again.');
  await saveLoginState(step, { passkeySetup: undefined });
  return finishLogin(ctx, step, p.user.id, state.pendingAmr ?? ['pwd']);
}
