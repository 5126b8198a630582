import type { Context } from 'koa';
import { userById, type UserRow } from '../domain/sign-in.js';
import { clientInfo, loginRefusal } from '../oidc/account.js';
import { finishInteraction, requestedScopes, saveLoginState, type Step } from './interaction.js';
import { lookFor, type Look } from './look.js';
import { showVerify } from './pages.js';
import { showRefusal } from './refusal.js';
import { rememberAccount } from './remembered-accounts.js';
import { amrOf } from './amr.js';
import { acrOfAmr } from '../oidc/claims.js';

/**
 * The end of every login path (password, second factor, external IdP): the project checks and
 * org scopes may still refuse the user for this client; an unverified email stops a local login
 * for verification (as in ZITADEL, the last gate); otherwise the interaction goes back to
 * oidc-provider with the account.
 */

/** Whether the client's project checks or an org scope refuse this user (then the refusal page was shown). */
export async function refusedForClient(ctx: Context, step: Step, user: UserRow): Promise<boolean> {
  const client = clientInfo(await step.oidc.provider.Client.find(step.details.params.client_id));
  const refusal = await loginRefusal(step.oidc.scope, user, client, requestedScopes(step), step.oidc.clientUse);
  if (refusal) await showRefusal(ctx, step, user, refusal);
  return Boolean(refusal);
}

/** Mails the user a verification code (src/notify decides whether one went out too recently), in the look of the page. */
export function sendVerification(ctx: Context, step: Step, look: Look, user: UserRow): Promise<void> {
  return step.services.notifier.emailVerification(step.oidc.scope, user, { origin: ctx.state.origin, brandingOrgId: look.org.orgId, locale: look.locale });
}

/**
 * The last gate before a local login finishes: a human user whose email is not verified gets a
 * code and the verification page (email-verification.ts takes it from there). True when the page
 * was shown, so the caller must not finish.
 */
export async function requireVerifiedEmail(ctx: Context, step: Step, user: UserRow, amr: string[]): Promise<boolean> {
  if (user.type !== 'human' || !user.email || user.email_verified) return false;
  // External IdP logins are left alone: the upstream vouches for its users, and a JIT user without
  // an upstream email carries a placeholder address (idp.ts) that no code could reach.
  if (amr.includes('fed')) return false;
  const look = await lookFor(ctx, step, { userOrgId: user.org_id });
  await saveLoginState(step, { registeredUserId: user.id, verifyAmr: amr });
  await sendVerification(ctx, step, look, user);
  await showVerify(ctx, step, look, user.email, '');
  return true;
}

/** `known`: the user as this request already read it (the password step's), so it is not read again. */
export async function finishLogin(ctx: Context, step: Step, accountId: string, amr: string[], known?: UserRow): Promise<void> {
  const user = known?.id === accountId ? known : await userById(step.oidc.scope, accountId);
  if (user && (await requireVerifiedEmail(ctx, step, user, amr))) return;
  rememberAccount(ctx, accountId);
  // select_account is resolved too: whoever finishes a login has chosen an account.
  const methods = amrOf(amr);
  return finishInteraction(ctx, step, { login: { accountId, amr: methods, acr: acrOfAmr(methods), remember: true }, select_account: {} });
}

/** POST /ui/login/{uid}/abort: the user cancels; the client hears access_denied. */
export function abortLogin(ctx: Context, step: Step): Promise<void> {
  return finishInteraction(ctx, step, { error: 'access_denied', error_description: 'End-User aborted interaction' });
}
