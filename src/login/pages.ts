import type { Context } from 'koa';
import { unmetPasswordRules } from '../domain/policy/password.js';
import type { PolicySettings } from '../domain/policy/schemas.js';
import { displayLoginName } from '../ui/branding.js';
import type { Translate } from '../ui/i18n.js';
import type { Step } from './interaction.js';
import { sendBranded, type Look } from './look.js';
import { passwordlessForm } from './passkey-forms.js';

/**
 * The pages more than one step shows (the login name and password forms, the verification
 * page) and the password rules' messages. Rendering only: which page comes next is the steps'.
 */

/** The login name page, with "Sign in with a passkey" (and the browser's autofill) where the policy allows passwordless sign-in. */
export async function showLoginName(ctx: Context, step: Step, look: Look, loginName: string, error = '', status?: number): Promise<void> {
  const passkey = await passwordlessForm(ctx, step, look);
  return sendBranded(
    ctx,
    look,
    'login/login-name',
    'login.title',
    { uid: step.uid, csrf: step.csrf, loginName, error, passkey },
    status ?? (error ? 400 : 200),
  );
}

export function showPassword(ctx: Context, step: Step, look: Look, loginName: string, error = '', status?: number): Promise<void> {
  return sendBranded(
    ctx,
    look,
    'login/password',
    'login.passwordTitle',
    {
      uid: step.uid,
      csrf: step.csrf,
      loginName,
      shownName: displayLoginName(loginName, look.branding.label),
      error,
    },
    status ?? (error ? 400 : 200),
  );
}

export function showVerify(ctx: Context, step: Step, look: Look, email: string, error: string): Promise<void> {
  return sendBranded(ctx, look, 'login/verify-email', 'verify.title', { uid: step.uid, csrf: step.csrf, email, error }, error ? 400 : 200);
}

/** Each unmet complexity rule (the domain's one implementation) as its own message, in the page's language. */
export function complexityErrors(policy: PolicySettings<'password_complexity'>, password: string, t: Translate): string[] {
  return unmetPasswordRules(policy, password).map((u) => t(`password.${u.rule}`, 'n' in u ? { n: u.n } : undefined));
}
