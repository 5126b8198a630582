import type { Context } from 'koa';
import { getEffectivePolicy } from '../domain/policy/service.js';
import { emailBelongsToSomeone, userById } from '../domain/sign-in.js';
import { createHumanUser } from '../domain/user/service.js';
import { DomainError } from '../shared/errors.js';
import { sendVerification } from './finish.js';
import { asSystem, saveLoginState, type Step } from './interaction.js';
import { errorPage, lookFor, sendBranded, withLook, type Look } from './look.js';
import { complexityErrors, showVerify } from './pages.js';

/**
 * Self-registration, where the login policy of the org that applies allows it: the new user is
 * created in the registration org (org-context.ts) and must verify the email before the login
 * goes on (finish.ts, email-verification.ts).
 */

export interface RegisterForm {
  givenName: string;
  familyName: string;
  email: string;
  username: string;
  password: string;
  passwordConfirm: string;
  acceptTerms?: string;
}

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

/** GET /ui/login/{uid}/register */
export async function showRegistration(ctx: Context, step: Step): Promise<void> {
  await withLook(ctx, async () => {
    const look = await registrationLook(ctx, step);
    if (look) await showRegister(ctx, step, look, {}, []);
  });
}

/** POST /ui/login/{uid}/register */
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
    if (await emailBelongsToSomeone(scope, form.email)) {
      if (!look.policy.ignoreUnknownUsernames) return showRegister(ctx, step, look, form, [t('register.emailTaken')]);
      // Nothing may tell that the address has an owner: the same password hashing and verification
      // page as a registration that went through, but no account behind it and no mail to anyone
      // (every code typed there is wrong, email-verification.ts).
      await step.services.deps.hasher.hash(form.password);
      await saveLoginState(step, { registeredUserId: undefined, registeredDecoy: { email: form.email, orgId }, verifyAmr: undefined });
      return showVerify(ctx, step, look, form.email, '');
    }
    let userId: string;
    try {
      ({ id: userId } = await createHumanUser(asSystem(step.services, scope), {
        orgId,
        username: form.username,
        email: form.email,
        givenName: form.givenName,
        familyName: form.familyName,
        password: form.password,
        preferredLanguage: look.locale,
        emailVerified: false,
      }));
    } catch (err) {
      if (err instanceof DomainError && err.status < 500) return showRegister(ctx, step, look, form, [err.message]);
      throw err;
    }
    const user = (await userById(scope, userId))!;
    // verifyAmr cleared: a login stopped for verification earlier in this interaction must not carry over.
    await saveLoginState(step, { registeredUserId: userId, registeredDecoy: undefined, verifyAmr: undefined });
    await sendVerification(ctx, step, look, user);
    return showVerify(ctx, step, look, user.email!, '');
  });
}
