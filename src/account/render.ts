import type { Context } from 'koa';
import { translator, type Locale } from '../ui/i18n.js';
import { sendAreaPage } from '../ui/render.js';
import { paths, type AccountState } from './context.js';

/**
 * Account pages: a view from views/account rendered into views/account/layout.ejs, in the
 * console's stylesheet. Views get `t` (the visitor's language, keys under `account.`), `csrf`
 * for their forms, and the navigation.
 */

export function accountTranslator(locale: Locale) {
  const t = translator(locale);
  return (key: string, vars?: Record<string, string | number>) => {
    const full = `account.${key}`;
    const text = t(full, vars);
    return text === full ? key : text;
  };
}

const nav = [
  { key: 'profile', href: paths.profile, labelKey: 'nav.profile' },
  { key: 'email', href: paths.email, labelKey: 'nav.email' },
  { key: 'password', href: paths.password, labelKey: 'nav.password' },
  { key: 'security', href: paths.security, labelKey: 'nav.security' },
  { key: 'passkeys', href: paths.passkeys, labelKey: 'nav.passkeys' },
  { key: 'identities', href: paths.identities, labelKey: 'nav.identities' },
  { key: 'sessions', href: paths.sessions, labelKey: 'nav.sessions' },
  { key: 'applications', href: paths.applications, labelKey: 'nav.applications' },
];

export async function renderAccount(
  ctx: Context,
  name: string,
  data: Record<string, unknown>,
  opts: { titleKey: string; navKey?: string; status?: number; refreshTo?: string },
): Promise<void> {
  const a = ctx.state.account as AccountState;
  const flash = a.session.data.flash as { kind: string; text: string } | undefined;
  if (flash) await a.setData({ flash: undefined });
  const common = { t: a.t, csrf: a.csrf, paths, me: a.me };
  await sendAreaPage(
    ctx,
    'account',
    name,
    { ...common, ...data },
    {
      ...common,
      title: a.t(opts.titleKey),
      flash,
      lang: a.locale,
      branding: a.branding,
      me: a.me,
      signedIn: true,
      // Another site to go to at once: a redirect after a form would be blocked by the CSP's form-action 'self'.
      refreshTo: opts.refreshTo,
      nav: nav.map((n) => ({ href: n.href, label: a.t(n.labelKey), current: n.key === opts.navKey })),
    },
    opts.status,
  );
}

/** A page outside a session (signed out, sign-in failed). */
export async function plainAccountPage(ctx: Context, locale: Locale, status: number, titleKey: string, messageKey: string): Promise<void> {
  const t = accountTranslator(locale);
  await sendAreaPage(
    ctx,
    'account',
    'plain',
    { t, heading: t(titleKey), message: t(messageKey), paths },
    {
      t,
      title: t(titleKey),
      lang: locale,
      branding: { name: '' },
      me: undefined,
      nav: [],
      signedIn: false,
      csrf: '',
      flash: undefined,
      paths,
    },
    status,
  );
}
