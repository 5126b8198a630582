import type { Context } from 'koa';
import { getEffectivePolicy } from '../domain/policy/service.js';
import { userById } from '../domain/sign-in.js';
import { verifyEmailWithCode } from '../domain/user/codes.js';
import { translator } from '../ui/i18n.js';
import { sendPage } from '../ui/render.js';
import { finishLogin } from './finish.js';
import { actingAs, asUser, loginState, type LoginServices, type Step } from './interaction.js';
import { errorPage, lookFor, withLook } from './look.js';
import { afterFirstFactor } from './mfa.js';
import { showVerify } from './pages.js';

/**
 * Email verification after the gate in finish.ts (or a registration) mailed a code: the code
 * typed on the page, or the link in the mail followed in any browser; then the login goes on.
 */

/** POST /ui/login/{uid}/verify: the code from the mail, typed on the page. */
export async function submitVerification(ctx: Context, step: Step, code: string): Promise<void> {
  await withLook(ctx, async () => {
    const scope = step.oidc.scope;
    const state = loginState(step);
    const userId = state.registeredUserId;
    const user = userId ? await userById(scope, userId) : undefined;
    if (!user && state.registeredDecoy) {
      const look = await lookFor(ctx, step, { userOrgId: state.registeredDecoy.orgId });
      return showVerify(ctx, step, look, state.registeredDecoy.email, look.t('verify.invalid'));
    }
    if (!user) return errorPage(ctx, step, 400, 'login.unexpected_step', 'This sign-in step is not expected now. Please start again.');
    const look = await lookFor(ctx, step, { userOrgId: user.org_id });
    // Verified meanwhile through the mail's link (any browser): nothing left to prove here.
    if (!user.email_verified) {
      // The "followed the link" button while the link was not used: no code try is spent on it.
      if (code === 'link') return showVerify(ctx, step, look, user.email ?? '', look.t('verify.invalid'));
      if (!(await verifyEmailWithCode(asUser(step, user), user, code))) return showVerify(ctx, step, look, user.email ?? '', look.t('verify.invalid'));
    }
    // A login that already passed its factors continues to the client; the new user proved their
    // password when registering and goes on to the second factor rules.
    if (state.verifyAmr) return finishLogin(ctx, step, user.id, state.verifyAmr);
    return afterFirstFactor(ctx, step, look, (await userById(scope, user.id))!, ['pwd'], true);
  });
}

/** GET /ui/login/verify-email: the link in the verification mail (no interaction needed: the code is the proof). */
export async function verifyByLink(ctx: Context, services: LoginServices, userId: string, code: string): Promise<void> {
  const scope = ctx.state.oidc.scope;
  const user = /^\d+$/.test(userId) ? await userById(scope, userId) : undefined;
  const t = translator(user?.preferred_language === 'de' ? 'de' : 'en');
  const ok = Boolean(user && (await verifyEmailWithCode(actingAs(services, scope, user), user, code)));
  const continueUrl = ok && user ? (await getEffectivePolicy(scope, 'login', user.org_id)).defaultRedirectUri : '';
  await sendPage(
    ctx,
    'login/message',
    t('verify.title'),
    { t, uid: '', heading: t('verify.title'), message: ok ? t('verify.done') : t('verify.invalid'), continueUrl },
    ok ? 200 : 400,
  );
}
