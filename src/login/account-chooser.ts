import type { Context } from 'koa';
import { shownLoginName, userById, type UserRow } from '../domain/sign-in.js';
import { finishInteraction, type Step } from './interaction.js';
import { lookFor, sendBranded, withLook } from './look.js';
import { showLoginName, showPassword } from './pages.js';
import { rememberedAccounts } from './remembered-accounts.js';

/**
 * The account chooser: prompt=select_account offers the accounts this browser signed in with
 * (remembered-accounts.ts); choosing another than the session's asks for its password again.
 */

export interface ChooserAccount {
  id: string;
  displayName: string;
  loginName: string;
  current: boolean;
}

async function accounts(ctx: Context, step: Step): Promise<ChooserAccount[]> {
  const current = step.details.session?.accountId;
  const ids = [...new Set([...(current ? [current] : []), ...rememberedAccounts(ctx)])];
  const out: ChooserAccount[] = [];
  for (const id of ids) {
    const user: UserRow | undefined = await userById(step.oidc.scope, id);
    if (!user || user.type !== 'human' || user.state !== 'active') continue;
    out.push({ id, displayName: user.display_name ?? user.username, loginName: await shownLoginName(step.oidc.scope, user), current: id === current });
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
 * POST /ui/login/{uid}/select: the chosen account. The session's own resolves only the choice,
 * so the provider's login checks (max_age, the policy's check lifetimes) still apply to the
 * session; another account asks for its password.
 */
export async function submitChosenAccount(ctx: Context, step: Step, accountId: string): Promise<void> {
  await withLook(ctx, async () => {
    const look = await lookFor(ctx, step);
    const chosen = (await accounts(ctx, step)).find((a) => a.id === accountId);
    if (!chosen) return showLoginName(ctx, step, look, '');
    if (!chosen.current) return showPassword(ctx, step, look, chosen.loginName);
    return finishInteraction(ctx, step, { select_account: {} });
  });
}
