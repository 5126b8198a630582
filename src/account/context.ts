import type { Context } from 'koa';
import type { ServiceContext } from '../domain/deps.js';
import type { UiSession } from '../domain/session/service.js';
import type { Locale, Translate } from '../ui/i18n.js';

/** What every account page handler finds on ctx.state.account once the request is signed in. */
export interface AccountState {
  session: UiSession;
  /** the signed-in user acting on their own account: every read and write goes through it */
  svc: ServiceContext;
  userId: string;
  locale: Locale;
  t: Translate;
  csrf: string;
  me: { name: string; loginName: string };
  branding: { themeUrl?: string; logoUrl?: string; iconUrl?: string; name: string };
  setData(patch: Record<string, unknown>): Promise<void>;
}

/** The account page's URLs in one place, so views and handlers agree. */
export const paths = {
  home: '/ui/account',
  profile: '/ui/account',
  passkeys: '/ui/account/passkeys',
  passkey: (id: string) => `/ui/account/passkeys/${id}`,
  email: '/ui/account/email',
  password: '/ui/account/password',
  security: '/ui/account/security',
  identities: '/ui/account/identities',
  sessions: '/ui/account/sessions',
  applications: '/ui/account/applications',
  application: (clientId: string) => `/ui/account/applications/${encodeURIComponent(clientId)}`,
};

export const accountState = (ctx: Context): AccountState => ctx.state.account as AccountState;

/** Through the login again (prompt=login, max_age=0), then back to `returnTo`: what a stale sign-in gets. */
export function redirectToSignInAgain(ctx: Context, returnTo: string): void {
  const query = new URLSearchParams({ reauth: '1', hint: accountState(ctx).me.loginName, return: returnTo });
  ctx.redirect(`${paths.home}/sign-in?${query.toString()}`);
}

/** A message for the next page (post, redirect, get). */
export async function flash(ctx: Context, kind: 'ok' | 'error', text: string): Promise<void> {
  await accountState(ctx).setData({ flash: { kind, text } });
}
