import type { Context } from 'koa';
import { interactionPolicy } from 'oidc-provider';
import type { Scope } from '../db/scope.js';
import { getEffectivePolicy } from '../domain/policy/service.js';
import { preferredLoginName, type UserRow } from '../domain/user/repository.js';
import { userById } from '../oidc/repository.js';
import { lookFor, sendBranded, withLook } from './pages.js';
import type { Step } from './routes.js';

/**
 * The account chooser: prompt=select_account, and the accounts this browser signed in with.
 * oidc-provider keeps one session per browser; the other accounts are remembered in a signed,
 * HttpOnly cookie of user ids, and choosing one of them asks for its password again.
 */
const COOKIE = 'tessera_accounts';
const MAX_REMEMBERED = 5;

/**
 * The provider's interaction policy: a requestable select_account prompt before login and
 * consent, and a login check for the login policy's passwordCheckLifetime and
 * secondFactorCheckLifetime (a session older than those asks for the credentials again).
 */
export function loginInteractionPolicy(scope?: Scope): unknown {
  const policy = interactionPolicy.base();
  policy.add(new interactionPolicy.Prompt({ name: 'select_account', requestable: true }), 0);
  if (scope) policy.get('login').checks.push(checkLifetime(scope));
  return policy;
}

function checkLifetime(scope: Scope) {
  const { Check } = interactionPolicy;
  return new Check('check_lifetime', 'the login policy asks for the credentials again', 'login_required', async (ctx: any) => {
    const { oidc } = ctx;
    if (!oidc.session.accountId || oidc.result?.login) return Check.NO_NEED_TO_PROMPT;
    const user = await userById(scope, oidc.session.accountId);
    if (!user) return Check.REQUEST_PROMPT;
    const policy = await getEffectivePolicy(scope, 'login', user.org_id);
    const amr: string[] = oidc.session.amr ?? [];
    const lifetime = amr.includes('otp') ? Math.min(policy.passwordCheckLifetimeS, policy.secondFactorCheckLifetimeS) : policy.passwordCheckLifetimeS;
    const age = Math.floor(Date.now() / 1000) - (oidc.session.authTime() ?? 0);
    return age >= lifetime ? Check.REQUEST_PROMPT : Check.NO_NEED_TO_PROMPT;
  });
}

function remembered(ctx: Context): string[] {
  const raw = ctx.cookies.get(COOKIE, { signed: true }) ?? '';
  return raw.split('.').filter((id) => /^\d{1,30}$/.test(id));
}

export function rememberAccount(ctx: Context, userId: string): void {
  const ids = [userId, ...remembered(ctx).filter((id) => id !== userId)].slice(0, MAX_REMEMBERED);
  ctx.cookies.set(COOKIE, ids.join('.'), {
    signed: true, httpOnly: true, sameSite: 'lax', path: '/ui/login', secure: ctx.protocol === 'https', maxAge: 30 * 86400_000,
  });
}

export interface ChooserAccount { id: string; displayName: string; loginName: string; current: boolean }

async function accounts(ctx: Context, step: Step): Promise<ChooserAccount[]> {
  const current = step.details.session?.accountId as string | undefined;
  const ids = [...new Set([...(current ? [current] : []), ...remembered(ctx)])];
  const out: ChooserAccount[] = [];
  for (const id of ids) {
    const user: UserRow | undefined = await userById(step.oidc.scope, id);
    if (!user || user.type !== 'human' || user.state !== 'active') continue;
    out.push({ id, displayName: user.display_name ?? user.username, loginName: await preferredLoginName(step.oidc.scope, user), current: id === current });
  }
  return out;
}

/** The chooser page; with no account to choose, the login name page instead. */
export async function showAccountChooser(ctx: Context, step: Step, fallback: () => Promise<void>): Promise<void> {
  const list = await accounts(ctx, step);
  if (list.length === 0) return fallback();
  await withLook(ctx, async () => {
    const look = await lookFor(ctx, step);
    // Under an org scope only that org's users may finish: others are not offered.
    const offered = look.org.enforced ? [] : list;
    if (offered.length === 0) return fallback();
    return sendBranded(ctx, look, 'login/select-account', 'login.selectAccount', { uid: step.uid, csrf: step.csrf, accounts: offered });
  });
}

/**
 * The chosen account: the session's own resolves only the choice, so the provider's login checks
 * (max_age, the policy's check lifetimes) still apply to the session; another account asks for its password.
 */
export async function chooseAccount(ctx: Context, step: Step, accountId: string, passwordPage: (loginName: string) => Promise<void>): Promise<void> {
  const chosen = (await accounts(ctx, step)).find((a) => a.id === accountId);
  if (!chosen) return passwordPage('');
  if (!chosen.current) return passwordPage(chosen.loginName);
  const returnTo = await step.oidc.provider.interactionResult(ctx.req, ctx.res, { select_account: {} }, { mergeWithLastSubmission: false });
  ctx.status = 303;
  ctx.redirect(returnTo);
}
