import { interactionPolicy } from 'oidc-provider';
import type { Scope } from '../db/scope.js';

/**
 * What the provider needs from the login pages, handed in by the composition root (src/app.ts):
 * where an interaction happens, when a session's login is too old, and the pages oidc-provider
 * renders itself (sign-out and errors). oidc/ knows no page of its own.
 */
export interface InteractionHooks {
  /** The page oidc-provider sends a user to for an interaction (login, consent, account choice). */
  url(uid: string): string;
  /** Whether this session's login must be repeated now (e.g. the login policy's check lifetimes). */
  loginExpired(scope: Scope, session: LoginSession): Promise<boolean>;
  /** The sign-out confirmation; `form` is the provider's form, to be embedded. */
  logoutPage(ctx: PageContext, form: string): Promise<void>;
  /** After sign-out, when the client gave no post_logout_redirect_uri. */
  loggedOutPage(ctx: PageContext, clientName: string): Promise<void>;
  /** An error the provider shows to the user instead of redirecting to the client. */
  errorPage(ctx: PageContext, error: { error: string; error_description?: string }): Promise<void>;
}

/** What the login pages read of an oidc-provider interaction (provider.interactionDetails). */
export interface Interaction {
  uid: string;
  /** the authorization request's parameters */
  params: { client_id?: string; scope?: string; ui_locales?: string; login_hint?: string; [name: string]: unknown };
  /** what oidc-provider asks for now: login, consent, select_account */
  prompt: { name: string; details?: { missingOIDCScope?: string[] } };
  /** the browser's session at the provider, when it has one */
  session?: { accountId?: string };
  grantId?: string;
}

/** The session a login check looks at. */
export interface LoginSession {
  accountId: string;
  amr: string[];
  authTime: number;
}

/** The request oidc-provider hands its page hooks (a Koa context of the provider's own app). */
export interface PageContext {
  status: number;
  type: string;
  body: unknown;
  host: string;
  get(field: string): string;
  set(field: string, value: string): void;
}

/**
 * The provider's interaction policy: oidc-provider's prompts (login, consent), plus a requestable
 * select_account prompt before them (answered by the account chooser) and a login check that asks
 * for the credentials again when `loginExpired` says so.
 */
export function interactionPolicyFor(scope: Scope, hooks?: Pick<InteractionHooks, 'loginExpired'>): unknown {
  const policy = interactionPolicy.base();
  policy.add(new interactionPolicy.Prompt({ name: 'select_account', requestable: true }), 0);
  policy.get('login').checks.push(accountGoneCheck());
  if (hooks) policy.get('login').checks.push(loginLifetimeCheck(scope, hooks));
  return policy;
}

/**
 * A session whose user can no longer sign in (locked, deactivated, deleted, or their org
 * deactivated: findAccount finds no account) counts as no session: the login page, or
 * login_required for prompt=none. Without it the consent prompt would read a grant that was
 * never loaded, and every /auth of that browser would fail.
 */
function accountGoneCheck() {
  const { Check } = interactionPolicy;
  return new Check('account_gone', 'the user of the session can no longer sign in', 'login_required', (ctx: any) =>
    ctx.oidc.session.accountId && !ctx.oidc.account && !ctx.oidc.result?.login ? Check.REQUEST_PROMPT : Check.NO_NEED_TO_PROMPT,
  );
}

function loginLifetimeCheck(scope: Scope, hooks: Pick<InteractionHooks, 'loginExpired'>) {
  const { Check } = interactionPolicy;
  return new Check('check_lifetime', 'the login policy asks for the credentials again', 'login_required', async (ctx: any) => {
    const { oidc } = ctx;
    if (!oidc.session.accountId || oidc.result?.login) return Check.NO_NEED_TO_PROMPT;
    const expired = await hooks.loginExpired(scope, { accountId: oidc.session.accountId, amr: oidc.session.amr ?? [], authTime: oidc.session.authTime() ?? 0 });
    return expired ? Check.REQUEST_PROMPT : Check.NO_NEED_TO_PROMPT;
  });
}
