import type { Context } from 'koa';
import type { PolicySettings } from '../domain/policy/schemas.js';
import { offeredIdps } from '../domain/sign-in.js';
import { loadBranding, type Branding } from '../ui/branding.js';
import { pickLocale, translator, type Locale, type Translate } from '../ui/i18n.js';
import { brandedFrame, sendPage } from '../ui/render.js';
import { loginState, requestedScopes, type Step } from './interaction.js';
import { resolveOrgContext, UnknownOrgError, type OrgContext } from './org-context.js';

/**
 * What a login page looks like and offers: the org whose rules apply (org-context.ts), its login
 * policy, its IdPs, its branding (src/ui) and the visitor's language. Every page of the login
 * renders through sendBranded, every error through errorPage.
 */
export interface Look {
  org: OrgContext;
  policy: PolicySettings<'login'>;
  branding: Branding;
  locale: Locale;
  t: Translate;
  idps: { id: string; name: string }[];
}

/** The look of a page; userOrgId once the user is known. Throws UnknownOrgError for a bad org scope. */
export async function lookFor(ctx: Context, step: Step, opts: { userOrgId?: string; unmatchedLoginName?: string } = {}): Promise<Look> {
  const reads = step.oidc.signIn;
  const state = loginState(step);
  let org = await resolveOrgContext(reads, {
    scopes: requestedScopes(step),
    clientId: String(step.details.params.client_id ?? ''),
    userOrgId: opts.userOrgId,
    unmatchedLoginName: opts.unmatchedLoginName,
  });
  // A discovery made on an earlier page keeps applying until a user is identified.
  if (org.source === 'instance' && state.discoveredOrgId && !opts.userOrgId) {
    org = { orgId: state.discoveredOrgId, source: 'discovery', enforced: false, registrationOrgId: state.discoveredOrgId };
  }
  const [policy, branding] = await Promise.all([reads.policy('login', org.orgId), loadBranding(reads, org.orgId)]);
  const locale = pickLocale({ uiLocales: String(step.details.params.ui_locales ?? ''), acceptLanguage: ctx.get('accept-language') });
  const idps = policy.allowExternalIdp ? await offeredIdps(reads, org.orgId, policy.idpIds) : [];
  return { org, policy, branding, locale, t: translator(locale), idps };
}

/** Renders a view in the branded layout. */
export async function sendBranded(ctx: Context, look: Look, view: string, titleKey: string, data: Record<string, unknown>, status = 200): Promise<void> {
  const { branding, t } = look;
  await sendPage(ctx, view, t(titleKey), { t, look, ...data }, status, brandedFrame(branding, look.locale, t));
}

/** An error page in the visitor's language: the catalogue's `error.{code}`, else the English text given. */
export async function errorPage(ctx: Context, step: Step | undefined, status: number, code: string, english: string, details = ''): Promise<void> {
  const locale = pickLocale({ uiLocales: step ? String(step.details.params.ui_locales ?? '') : '', acceptLanguage: ctx.get('accept-language') });
  const t = translator(locale);
  const key = `error.${code}`;
  await sendPage(ctx, 'error', t('error.title'), { heading: t('error.title'), code, message: t(key) === key ? english : t(key), details }, status, {
    lang: locale,
    t,
  });
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
