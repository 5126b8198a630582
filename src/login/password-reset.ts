import type { Context } from 'koa';
import { getEffectivePolicy } from '../domain/policy/service.js';
import { userById } from '../domain/sign-in.js';
import { setPasswordWithCode } from '../domain/user/codes.js';
import { mailLinkPaths } from '../notify/notifier.js';
import { translator } from '../ui/i18n.js';
import { loadBranding } from '../ui/branding.js';
import { brandedFrame, sendPage } from '../ui/render.js';
import { asSystem, loginState, saveLoginState, type LoginServices, type Step } from './interaction.js';
import { identify } from './identify.js';
import { errorPage, lookFor, sendBranded, withLook, type Look } from './look.js';
import { complexityErrors } from './pages.js';

/**
 * Setting a password with a mailed code: the password reset inside a login (ask for a code, then
 * type it with the new password), and the links in the reset and initial-password mails, usable
 * in any browser. The code's rules are the domain's (src/domain/user/codes.ts); which mail goes
 * out when is src/notify's.
 */

function showReset(ctx: Context, step: Step, look: Look, data: { sent: boolean; loginName?: string; code?: string; errors?: string[] }): Promise<void> {
  return sendBranded(
    ctx,
    look,
    'login/reset',
    'reset.title',
    {
      uid: step.uid,
      csrf: step.csrf,
      loginName: data.loginName ?? '',
      code: data.code ?? '',
      sent: data.sent,
      errors: data.errors ?? [],
    },
    data.errors?.length ? 400 : 200,
  );
}

async function resetLook(ctx: Context, step: Step): Promise<Look | undefined> {
  const look = await lookFor(ctx, step);
  if (look.policy.hidePasswordReset) {
    await errorPage(ctx, step, 403, 'login.password_reset_hidden', 'Password reset is not offered here.');
    return undefined;
  }
  return look;
}

/** GET /ui/login/{uid}/reset */
export async function showPasswordReset(ctx: Context, step: Step, code?: string): Promise<void> {
  await withLook(ctx, async () => {
    const look = await resetLook(ctx, step);
    if (look) await showReset(ctx, step, look, { sent: Boolean(code), code });
  });
}

/** POST /ui/login/{uid}/reset: sends a code if the account exists (and may reset); the page reads the same either way. */
export async function requestPasswordReset(ctx: Context, step: Step, typed: string): Promise<void> {
  await withLook(ctx, async () => {
    const look = await resetLook(ctx, step);
    if (!look) return;
    const { user } = await identify(step, look.org, typed);
    await saveLoginState(step, { resetUserId: user?.id });
    // The code and its mail are made after the page has gone (and the mail leaves through the
    // outbox): the answer takes as long whether the account exists or not.
    if (user) {
      const origin = ctx.state.origin;
      setImmediate(() => {
        void (async () => {
          const userLook = await lookFor(ctx, step, { userOrgId: user.org_id });
          if (userLook.policy.hidePasswordReset) return;
          await step.services.notifier.passwordReset(step.oidc.scope, user, { origin, brandingOrgId: userLook.org.orgId, locale: look.locale });
        })().catch((err) => ctx.app.emit('error', err, ctx));
      });
    }
    return showReset(ctx, step, look, { sent: true });
  });
}

/** POST /ui/login/{uid}/reset/confirm: the code and the new password. */
export async function confirmPasswordReset(ctx: Context, step: Step, code: string, password: string): Promise<void> {
  await withLook(ctx, async () => {
    const look = await resetLook(ctx, step);
    if (!look) return;
    const scope = step.oidc.scope;
    const userId = loginState(step).resetUserId;
    const user = userId ? await userById(scope, userId) : undefined;
    if (!user) return showReset(ctx, step, look, { sent: true, errors: [look.t('verify.invalid')] });
    // The rules first, so a weak password does not use up the code.
    const unmet = complexityErrors(await getEffectivePolicy(scope, 'password_complexity', user.org_id), password, look.t);
    if (unmet.length) return showReset(ctx, step, look, { sent: true, code, errors: unmet });
    if (!(await setPasswordWithCode(asSystem(step.services, scope), user, 'password_reset', code, password))) {
      return showReset(ctx, step, look, { sent: true, errors: [look.t('verify.invalid')] });
    }
    await step.services.notifier.passwordChanged(scope, user.id, ctx.state.origin).catch((err) => ctx.app.emit('error', err, ctx));
    return sendBranded(ctx, look, 'login/message', 'reset.title', { uid: step.uid, heading: look.t('reset.title'), message: look.t('reset.done') });
  });
}

/** The pages the mail links lead to, by the kind of their code. */
export const passwordLinks = { initial_password: mailLinkPaths.initialPassword, password_reset: mailLinkPaths.passwordReset } as const;

/**
 * GET and POST /ui/login/init and /ui/login/password-reset: the links in the initial-password and
 * reset mails, usable in any browser. The code from the mail stands in for a CSRF token, as only
 * the recipient has it.
 */
export async function passwordByCodePage(
  ctx: Context,
  services: LoginServices,
  kind: keyof typeof passwordLinks,
  input: { user?: string; code?: string; password?: string; passwordConfirm?: string },
): Promise<void> {
  const scope = ctx.state.oidc.scope;
  const user = input.user && /^\d+$/.test(input.user) ? await userById(scope, input.user) : undefined;
  const locale = user?.preferred_language === 'de' ? 'de' : 'en';
  const t = translator(locale);
  // An invitation (the initial password) reads as one; both wear the look of the user's org.
  const titleKey = kind === 'initial_password' ? 'invite.title' : 'reset.title';
  const frame = user ? brandedFrame(await loadBranding(scope, user.org_id), locale, t) : {};
  const page = async (message: string, status: number) => {
    // Outside an application's login, what comes next is the login policy's defaultRedirectUri (the
    // application), else signing in (the account page, through the login).
    const next = status === 200 && user ? (await getEffectivePolicy(scope, 'login', user.org_id)).defaultRedirectUri || '/ui/account' : '';
    return sendPage(ctx, 'login/message', t(titleKey), { t, uid: '', heading: t(titleKey), message, continueUrl: next }, status, frame);
  };
  if (!user || !input.code) return page(t('verify.invalid'), 400);
  const form = (errors: string[], status = 200) =>
    sendPage(
      ctx,
      'login/init-password',
      t(titleKey),
      { t, titleKey, kind, action: passwordLinks[kind], userId: user.id, code: input.code, errors },
      status,
      frame,
    );
  if (input.password === undefined) return form([]);
  const unmet = complexityErrors(await getEffectivePolicy(scope, 'password_complexity', user.org_id), input.password, t);
  if (input.password !== input.passwordConfirm) unmet.unshift(t('register.passwordsDiffer'));
  if (unmet.length) return form(unmet, 400);
  // An initial password's code also proves the mailbox: the address is verified with it (domain/user/codes.ts).
  if (!(await setPasswordWithCode(asSystem(services, scope), user, kind, input.code, input.password))) return page(t('verify.invalid'), 400);
  if (kind === 'password_reset') await services.notifier.passwordChanged(scope, user.id, ctx.state.origin).catch((err) => ctx.app.emit('error', err, ctx));
  return page(t(kind === 'initial_password' ? 'invite.done' : 'reset.done'), 200);
}
