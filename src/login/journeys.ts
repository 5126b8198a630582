import type { Context } from 'koa';
import { Scope } from '../db/scope.js';
import type { ServiceContext } from '../domain/deps.js';
import { appendEvent } from '../domain/audit/repository.js';
import { getEffectivePolicy } from '../domain/policy/service.js';
import { unmetPasswordRules } from '../domain/policy/password.js';
import type { PolicySettings } from '../domain/policy/schemas.js';
import { systemPrincipal } from '../domain/principal.js';
import { getUser, updateUser, type UserRow } from '../domain/user/repository.js';
import { createHumanUser, setPassword } from '../domain/user/service.js';
import { DomainError } from '../shared/errors.js';
import type { Mailer } from '../mail/mailer.js';
import { consumeCode, issueCode, issuedWithin } from './codes.js';
import type { Translate } from '../ui/i18n.js';
import { translator } from '../ui/i18n.js';
import { errorPage, loginState, lookFor, saveLoginState, sendBranded, withLook, type Look } from './pages.js';
import { sendPage } from '../ui/render.js';
import type { Step } from './routes.js';
import { afterFirstFactor, finishLogin, identify } from './tenant-flow.js';

/**
 * Account journeys on the login pages: self-registration with email verification, password
 * reset by mail, and the initial password of users an admin created. Codes are one-time and
 * hashed (codes.ts); mails leave through the instance's own SMTP server (src/mail).
 */
export const VERIFY_TTL_MIN = 60;
export const RESET_TTL_MIN = 15;
export const INITIAL_TTL_MIN = 3 * 24 * 60;
export const RESEND_AFTER_S = 60;

const sys = (ctx: Context, scope: Scope): ServiceContext => ({ deps: ctx.state.login.deps, scope, actor: systemPrincipal });

/** Each unmet complexity rule as its own message, in the page's language. */
export function complexityErrors(policy: PolicySettings<'password_complexity'>, password: string, t: Translate): string[] {
  return unmetPasswordRules(policy, password).map((u) => t(`password.${u.rule}`, 'n' in u ? { n: u.n } : undefined));
}

// ---- registration ----

export interface RegisterForm { givenName: string; familyName: string; email: string; username: string; password: string; passwordConfirm: string; acceptTerms?: string }

function showRegister(ctx: Context, step: Step, look: Look, values: Partial<RegisterForm>, errors: string[]): Promise<void> {
  const { password: _p, passwordConfirm: _c, ...safe } = values;
  return sendBranded(ctx, look, 'login/register', 'register.title', { uid: step.uid, csrf: step.csrf, values: safe, errors }, errors.length ? 400 : 200);
}

async function registrationLook(ctx: Context, step: Step): Promise<Look | undefined> {
  const look = await lookFor(ctx, step);
  if (!look.policy.allowRegister || !look.policy.allowUsernamePassword || !look.org.registrationOrgId) {
    await errorPage(ctx, step, 403, 'login.registration_not_allowed', 'Registration is not allowed here.');
    return undefined;
  }
  return look;
}

export async function showRegistration(ctx: Context, step: Step): Promise<void> {
  await withLook(ctx, async () => {
    const look = await registrationLook(ctx, step);
    if (look) await showRegister(ctx, step, look, {}, []);
  });
}

export async function submitRegistration(ctx: Context, step: Step, form: RegisterForm): Promise<void> {
  await withLook(ctx, async () => {
    const look = await registrationLook(ctx, step);
    if (!look) return;
    const scope = step.oidc.scope;
    const orgId = look.org.registrationOrgId!;
    const { t } = look;
    const errors: string[] = [];
    if (form.password !== form.passwordConfirm) errors.push(t('register.passwordsDiffer'));
    errors.push(...complexityErrors(await getEffectivePolicy(scope, 'password_complexity', orgId), form.password, t));
    const privacy = look.branding.privacy;
    if ((privacy.tosLink || privacy.privacyLink) && form.acceptTerms !== 'yes') errors.push(t('register.acceptTerms'));
    if (errors.length) return showRegister(ctx, step, look, form, errors);
    let userId: string;
    try {
      ({ id: userId } = await createHumanUser(sys(ctx, scope), {
        orgId, username: form.username, email: form.email, givenName: form.givenName, familyName: form.familyName,
        password: form.password, preferredLanguage: look.locale, emailVerified: false,
      }));
    } catch (err) {
      if (err instanceof DomainError && err.status < 500) return showRegister(ctx, step, look, form, [err.message]);
      throw err;
    }
    const user = (await getUser(scope, userId))!;
    // verifyAmr cleared: a login stopped for verification earlier in this interaction must not carry over.
    await saveLoginState(step, { registeredUserId: userId, verifyAmr: undefined });
    await sendVerification(ctx, step, look, user);
    return showVerify(ctx, step, look, user.email!, '');
  });
}

async function sendVerification(ctx: Context, step: Step, look: Look, user: UserRow): Promise<void> {
  const scope = step.oidc.scope;
  const code = await issueCode(scope, user.id, 'email_verification', { ttlMin: VERIFY_TTL_MIN, email: user.email! });
  const link = `${ctx.state.origin}/ui/login/verify-email?user=${user.id}&code=${code}`;
  await ctx.state.login.mailer.sendEmailVerification(scope, user, { code, link, expiresMin: VERIFY_TTL_MIN }, {
    origin: ctx.state.origin, brandingOrgId: look.org.orgId, locale: look.locale,
  });
}

function showVerify(ctx: Context, step: Step, look: Look, email: string, error: string): Promise<void> {
  return sendBranded(ctx, look, 'login/verify-email', 'verify.title', { uid: step.uid, csrf: step.csrf, email, error }, error ? 400 : 200);
}

async function markEmailVerified(scope: Scope, user: UserRow, email: string | null | undefined): Promise<boolean> {
  // A code proves the address it was sent to, not one the user switched to since.
  if (!email || email.toLowerCase() !== user.email?.toLowerCase()) return false;
  await scope.transaction(async (tx) => {
    await updateUser(tx, user.id, { email_verified: true });
    await appendEvent(tx, { type: 'user', userId: user.id, orgId: user.org_id }, { orgId: user.org_id, resourceType: 'user', resourceId: user.id, type: 'user.email.verified' });
  });
  return true;
}

export async function submitVerification(ctx: Context, step: Step, code: string): Promise<void> {
  await withLook(ctx, async () => {
    const scope = step.oidc.scope;
    const state = loginState(step);
    const userId = state.registeredUserId;
    const user = userId ? await getUser(scope, userId) : undefined;
    if (!user) return errorPage(ctx, step, 400, 'login.unexpected_step', 'This sign-in step is not expected now. Please start again.');
    const look = await lookFor(ctx, step, { userOrgId: user.org_id });
    // Verified meanwhile through the mail's link (any browser): nothing left to prove here.
    if (!user.email_verified) {
      // The "followed the link" button while the link was not used: no code try is spent on it.
      if (code === 'link') return showVerify(ctx, step, look, user.email ?? '', look.t('verify.invalid'));
      const used = await consumeCode(scope, user.id, 'email_verification', code);
      if (!used.ok || !(await markEmailVerified(scope, user, used.email))) return showVerify(ctx, step, look, user.email ?? '', look.t('verify.invalid'));
    }
    // A login that already passed its factors continues to the client; the new user proved their
    // password when registering and goes on to the second factor rules.
    if (state.verifyAmr) return finishLogin(ctx, step, user.id, state.verifyAmr);
    return afterFirstFactor(ctx, step, look, (await getUser(scope, user.id))!, ['pwd'], true);
  });
}

/**
 * The last gate before a local login finishes (as in ZITADEL): a human user whose email is not verified
 * gets a code and a link by mail and the verification page; the login continues once it is
 * verified. True when the page was shown, so the caller must not finish.
 */
export async function requireVerifiedEmail(ctx: Context, step: Step, user: UserRow, amr: string[]): Promise<boolean> {
  if (user.type !== 'human' || !user.email || user.email_verified) return false;
  // External IdP logins are left alone: the upstream vouches for its users, and a JIT user without
  // an upstream email carries a placeholder address (idp-login.ts) that no code could reach.
  if (amr.includes('fed')) return false;
  const look = await lookFor(ctx, step, { userOrgId: user.org_id });
  await saveLoginState(step, { registeredUserId: user.id, verifyAmr: amr });
  // A code from the last minute is still good: logging in again must not flood the inbox.
  if (!(await issuedWithin(step.oidc.scope, user.id, 'email_verification', RESEND_AFTER_S))) await sendVerification(ctx, step, look, user);
  await showVerify(ctx, step, look, user.email, '');
  return true;
}

/** The link in the verification mail (no interaction needed: the code is the proof). */
export async function verifyByLink(ctx: Context, userId: string, code: string): Promise<void> {
  const scope = ctx.state.oidc.scope;
  const user = /^\d+$/.test(userId) ? await getUser(scope, userId) : undefined;
  const used = user ? await consumeCode(scope, user.id, 'email_verification', code) : { ok: false };
  const t = translator(user?.preferred_language === 'de' ? 'de' : 'en');
  const ok = Boolean(user && used.ok && (await markEmailVerified(scope, user, (used as { email?: string | null }).email)));
  const continueUrl = ok && user ? (await getEffectivePolicy(scope, 'login', user.org_id)).defaultRedirectUri : '';
  await sendPage(ctx, 'login/message', t('verify.title'), { t, uid: '', heading: t('verify.title'), message: ok ? t('verify.done') : t('verify.invalid'), continueUrl }, ok ? 200 : 400);
}

// ---- password reset ----

function showReset(ctx: Context, step: Step, look: Look, data: { sent: boolean; loginName?: string; code?: string; errors?: string[] }): Promise<void> {
  return sendBranded(ctx, look, 'login/reset', 'reset.title', {
    uid: step.uid, csrf: step.csrf, loginName: data.loginName ?? '', code: data.code ?? '', sent: data.sent, errors: data.errors ?? [],
  }, data.errors?.length ? 400 : 200);
}

async function resetLook(ctx: Context, step: Step): Promise<Look | undefined> {
  const look = await lookFor(ctx, step);
  if (look.policy.hidePasswordReset) {
    await errorPage(ctx, step, 403, 'login.password_reset_hidden', 'Password reset is not offered here.');
    return undefined;
  }
  return look;
}

export async function showPasswordReset(ctx: Context, step: Step, code?: string): Promise<void> {
  await withLook(ctx, async () => {
    const look = await resetLook(ctx, step);
    if (look) await showReset(ctx, step, look, { sent: Boolean(code), code });
  });
}

/** Sends a code if the account exists; the page reads the same either way. */
export async function requestPasswordReset(ctx: Context, step: Step, typed: string): Promise<void> {
  await withLook(ctx, async () => {
    const look = await resetLook(ctx, step);
    if (!look) return;
    const scope = step.oidc.scope;
    const { user } = await identify(step, look.org, typed);
    await saveLoginState(step, { resetUserId: user?.id });
    // At most one reset mail a minute per account; the page reads the same either way.
    if (user?.email && user.state !== 'inactive' && !(await issuedWithin(scope, user.id, 'password_reset', RESEND_AFTER_S))) {
      const code = await issueCode(scope, user.id, 'password_reset', { ttlMin: RESET_TTL_MIN });
      const userLook = await lookFor(ctx, step, { userOrgId: user.org_id });
      if (!userLook.policy.hidePasswordReset) {
        await ctx.state.login.mailer.sendPasswordReset(scope, user, {
          code, link: `${ctx.state.origin}${codePaths.password_reset}?user=${user.id}&code=${code}`, expiresMin: RESET_TTL_MIN,
        }, { origin: ctx.state.origin, brandingOrgId: userLook.org.orgId, locale: look.locale });
      }
    }
    return showReset(ctx, step, look, { sent: true });
  });
}

export async function confirmPasswordReset(ctx: Context, step: Step, code: string, password: string): Promise<void> {
  await withLook(ctx, async () => {
    const look = await resetLook(ctx, step);
    if (!look) return;
    const scope = step.oidc.scope;
    const userId = loginState(step).resetUserId;
    const user = userId ? await getUser(scope, userId) : undefined;
    if (!user) return showReset(ctx, step, look, { sent: true, errors: [look.t('verify.invalid')] });
    // The rules first, so a weak password does not use up the code.
    const unmet = complexityErrors(await getEffectivePolicy(scope, 'password_complexity', user.org_id), password, look.t);
    if (unmet.length) return showReset(ctx, step, look, { sent: true, code, errors: unmet });
    if (!(await consumeCode(scope, user.id, 'password_reset', code)).ok) return showReset(ctx, step, look, { sent: true, errors: [look.t('verify.invalid')] });
    await setPassword(sys(ctx, scope), user.id, password);
    await sendPasswordChangedNotice(ctx.state.login.mailer, scope, user.id, ctx.state.origin).catch((err) => ctx.app.emit('error', err, ctx));
    return sendBranded(ctx, look, 'login/message', 'reset.title', { uid: step.uid, heading: look.t('reset.title'), message: look.t('reset.done') });
  });
}

export async function sendPasswordChangedNotice(mailer: Mailer, scope: Scope, userId: string, origin?: string): Promise<void> {
  const user = await getUser(scope, userId);
  if (user?.email) await mailer.sendPasswordChanged(scope, user, { origin });
}

// ---- initial password for users an admin created ----

/** Mails a user without a password (state initial) a code and a link to set one. */
export async function sendInitialPasswordMail(mailer: Mailer, scope: Scope, userId: string, origin: string): Promise<void> {
  const user = await getUser(scope, userId);
  if (!user?.email) throw new DomainError('precondition_failed', 'the user has no email address', 'mail.no_recipient');
  const code = await issueCode(scope, user.id, 'initial_password', { ttlMin: INITIAL_TTL_MIN });
  await mailer.sendInitialPassword(scope, user, { code, link: `${origin}/ui/login/init?user=${user.id}&code=${code}`, expiresMin: INITIAL_TTL_MIN }, { origin });
}

export const codePaths = { initial_password: '/ui/login/init', password_reset: '/ui/login/password-reset' } as const;

/**
 * GET and POST /ui/login/init and /ui/login/password-reset: the links in the initial-password and
 * reset mails, usable in any browser. The code from the mail stands in for a CSRF token, as only
 * the recipient has it.
 */
export async function passwordByCodePage(ctx: Context, kind: keyof typeof codePaths, input: { user?: string; code?: string; password?: string }): Promise<void> {
  const scope = ctx.state.oidc.scope;
  const user = input.user && /^\d+$/.test(input.user) ? await getUser(scope, input.user) : undefined;
  const t = translator(user?.preferred_language === 'de' ? 'de' : 'en');
  const page = async (message: string, status: number) => sendPage(ctx, 'login/message', t('reset.title'), {
    t, uid: '', heading: t('reset.title'), message,
    // Outside an application's login, where to go next is the login policy's defaultRedirectUri.
    continueUrl: status === 200 && user ? (await getEffectivePolicy(scope, 'login', user.org_id)).defaultRedirectUri : '',
  }, status);
  if (!user || !input.code) return page(t('verify.invalid'), 400);
  const form = (errors: string[], status = 200) =>
    sendPage(ctx, 'login/init-password', t('reset.title'), { t, action: codePaths[kind], userId: user.id, code: input.code, errors }, status);
  if (input.password === undefined) return form([]);
  const unmet = complexityErrors(await getEffectivePolicy(scope, 'password_complexity', user.org_id), input.password, t);
  if (unmet.length) return form(unmet, 400);
  if (!(await consumeCode(scope, user.id, kind, input.code)).ok) return page(t('verify.invalid'), 400);
  await setPassword(sys(ctx, scope), user.id, input.password);
  // The mailed code proves the mailbox: an initial password also verifies the address.
  if (kind === 'initial_password') await scope.table('users').where({ id: user.id, email_verified: false }).update({ email_verified: true });
  else await sendPasswordChangedNotice(ctx.state.login.mailer, scope, user.id, ctx.state.origin).catch((err) => ctx.app.emit('error', err, ctx));
  return page(t('reset.done'), 200);
}
