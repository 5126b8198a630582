import type { Context } from 'koa';
import { getEffectivePolicy } from '../domain/policy/service.js';
import type { PolicySettings } from '../domain/policy/schemas.js';
import { listIdps } from '../domain/idp/repository.js';
import { loadBranding, type Branding } from '../ui/branding.js';
import { pickLocale, translator, type Locale, type Translate } from '../ui/i18n.js';
import { resolveOrgContext, UnknownOrgError, type OrgContext } from './org-context.js';
import { brandedFrame, renderPage, sendPage, type HtmlTarget } from '../ui/render.js';
import type { Step } from './routes.js';

/**
 * What a tenant-aware page needs: the org whose rules apply, its login policy, its IdPs, its
 * branding, and the visitor's language; plus the small state the login keeps between steps,
 * stored on the oidc-provider interaction itself (so it expires and is bound to it).
 */
export interface LoginState {
  /** the org domain discovery (or an identified user who must use an IdP) switched to */
  discoveredOrgId?: string;
  /** a user who passed the password (or IdP) step and still owes a second factor */
  pendingUserId?: string;
  pendingAmr?: string[];
  /** a user who registered and still has to verify the email */
  registeredUserId?: string;
  /** set when a login (not a registration) stopped for email verification: the factors it already passed */
  verifyAmr?: string[];
  /** a user on the password reset page */
  resetUserId?: string;
  /** an external login in flight */
  idp?: { idpId: string; state: string; codeVerifier: string; nonce: string };
  /** an external identity the user may turn into a new account (creation allowed, not automatic) */
  external?: { idpId: string; orgId: string; profile: { sub: string; email?: string; emailVerified: boolean; givenName?: string; familyName?: string; name?: string; preferredUsername?: string } };
  /** an external identity waiting to be linked after a password confirmation */
  link?: { idpId: string; sub: string; username?: string; userId: string };
}

export function loginState(step: Step): LoginState {
  return (step.details.result?.tessera ?? {}) as LoginState;
}

export async function saveLoginState(step: Step, patch: Partial<LoginState>): Promise<void> {
  step.details.result = { ...(step.details.result ?? {}), tessera: { ...loginState(step), ...patch } };
  await step.details.persist();
}

export interface Look {
  org: OrgContext;
  policy: PolicySettings<'login'>;
  branding: Branding;
  locale: Locale;
  t: Translate;
  idps: { id: string; name: string }[];
}

export function requestedScopes(step: Step): string[] {
  return String(step.details.params.scope ?? '').split(' ').filter(Boolean);
}

/** The look of a page; userOrgId once the user is known. Throws UnknownOrgError for a bad org scope. */
export async function lookFor(ctx: Context, step: Step, opts: { userOrgId?: string; unmatchedLoginName?: string } = {}): Promise<Look> {
  const scope = step.oidc.scope;
  const state = loginState(step);
  let org = await resolveOrgContext(scope, {
    scopes: requestedScopes(step), clientId: String(step.details.params.client_id ?? ''),
    userOrgId: opts.userOrgId, unmatchedLoginName: opts.unmatchedLoginName,
  });
  // A discovery made on an earlier page keeps applying until a user is identified.
  if (org.source === 'instance' && state.discoveredOrgId && !opts.userOrgId) {
    org = { orgId: state.discoveredOrgId, source: 'discovery', enforced: false, registrationOrgId: state.discoveredOrgId };
  }
  const [policy, branding] = await Promise.all([getEffectivePolicy(scope, 'login', org.orgId), loadBranding(scope, org.orgId)]);
  const locale = pickLocale({ uiLocales: String(step.details.params.ui_locales ?? ''), acceptLanguage: ctx.get('accept-language') });
  let idps: { id: string; name: string }[] = [];
  if (policy.allowExternalIdp && policy.idpIds.length) {
    const available = await listIdps(scope, { orgId: org.orgId });
    idps = policy.idpIds.map((id) => available.find((i) => i.id === id && i.state === 'active')).filter((i) => i !== undefined)
      .map((i) => ({ id: i.id, name: i.name }));
  }
  return { org, policy, branding, locale, t: translator(locale), idps };
}

/** Renders a view in the branded layout. */
export async function sendBranded(ctx: Context, look: Look, view: string, titleKey: string, data: Record<string, unknown>, status = 200): Promise<void> {
  const { branding, t } = look;
  ctx.status = status;
  ctx.type = 'text/html; charset=utf-8';
  ctx.set('Cache-Control', 'no-store');
  ctx.body = await renderPage(view, t(titleKey), { t, look, ...data }, brandedFrame(branding, look.locale, t));
}

/** An error page in the visitor's language: the catalogue's `error.{code}`, else the English text given. */
export async function errorPage(ctx: Context, step: Step | undefined, status: number, code: string, english: string, details = ''): Promise<void> {
  const locale = pickLocale({ uiLocales: step ? String(step.details.params.ui_locales ?? '') : '', acceptLanguage: ctx.get('accept-language') });
  const t = translator(locale);
  const key = `error.${code}`;
  ctx.status = status;
  ctx.type = 'text/html; charset=utf-8';
  ctx.set('Cache-Control', 'no-store');
  ctx.body = await renderPage('error', t('error.title'), { heading: t('error.title'), code, message: t(key) === key ? english : t(key), details }, { lang: locale, t });
}

/** An error page before any look is known (English, unbranded), e.g. for an expired interaction. */
export function sendErrorPage(ctx: HtmlTarget, status: number, code: string, message: string, details?: string): Promise<void> {
  return sendPage(ctx, 'error', 'Sign-in error', { heading: 'We could not sign you in', code, message, details: details ?? '' }, status);
}

/** Runs a page handler, turning an unknown org scope into its error page. */
export async function withLook<T>(ctx: Context, fn: () => Promise<T>, step?: Step): Promise<T | undefined> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof UnknownOrgError) {
      await errorPage(ctx, step, 400, err.reason, 'The organization this sign-in asks for does not exist.');
      return undefined;
    }
    throw err;
  }
}
