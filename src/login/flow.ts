import type { Context } from 'koa';
import type { PasswordHasher } from '../shared/crypto.js';
import { clientInfo, isLoginable, loginRefusal, refusalMessages } from '../oidc/account.js';
import { isReservedScope } from '../oidc/claims.js';
import { userById } from '../oidc/repository.js';
import { sendPage } from '../ui/render.js';
import { sendErrorPage } from './pages.js';
import type { Step } from './routes.js';
import { beginTenantLogin, submitLoginName, submitPassword } from './tenant-flow.js';

/**
 * The steps of the first login. Each takes the interaction and either renders the next page
 * or finishes the interaction back to oidc-provider. Unknown users and wrong passwords get the
 * same treatment as ZITADEL's defaults (the user is told which step failed).
 */

export async function beginLogin(ctx: Context, step: Step): Promise<void> {
  const { details } = step;
  if (details.prompt.name === 'consent') return consentStep(ctx, step);
  // The tenant-aware login (tenant-flow.ts) applies the org's policy, branding and IdPs.
  return beginTenantLogin(ctx, step);
}

function loginNamePage(ctx: Context, step: Step, loginName: string, error: string): Promise<void> {
  return sendPage(ctx, 'login/login-name', 'Sign in', {
    uid: step.uid, csrf: step.csrf, loginName, error, clientName: clientName(step),
  }, error ? 400 : 200);
}

export async function checkLoginName(ctx: Context, step: Step, loginName: string): Promise<void> {
  return submitLoginName(ctx, step, loginName);
}

/** The password step is tenant-aware (tenant-flow.ts): throttle before argon2, lockout, dummy hash, second factor. */
export async function checkPassword(ctx: Context, step: Step, _hasher: PasswordHasher, loginName: string, password: string): Promise<void> {
  return submitPassword(ctx, step, loginName, password);
}

/**
 * Consent: skipped for first-party applications (oidc-provider only asks when the project
 * checks refused in loadExistingGrant, which is shown here as an error page).
 */
async function consentStep(ctx: Context, step: Step): Promise<void> {
  const accountId = step.details.session?.accountId;
  const user = accountId ? await userById(step.oidc.scope, accountId) : undefined;
  if (!isLoginable(user)) return loginNamePage(ctx, step, '', '');
  const info = await stepClient(step);
  const refusal = await loginRefusal(step.oidc.scope, user, info, requestedScopes(step));
  if (refusal) return sendErrorPage(ctx, 403, refusal, refusalMessages[refusal]);
  if (info.skipConsent) return giveConsent(ctx, step);
  return sendPage(ctx, 'login/consent', 'Allow access', {
    uid: step.uid, csrf: step.csrf, clientName: clientName(step), scopes: requestedScopes(step).filter((s) => s !== 'openid'),
  });
}

export async function giveConsent(ctx: Context, step: Step): Promise<void> {
  const { provider } = step.oidc;
  const { details } = step;
  const accountId = details.session?.accountId;
  if (!accountId || details.prompt.name !== 'consent') {
    return sendErrorPage(ctx, 400, 'login.unexpected_step', 'This sign-in step is not expected now. Please start again.');
  }
  const grant = details.grantId ? await provider.Grant.find(details.grantId) : new provider.Grant({ accountId, clientId: details.params.client_id });
  const scopes = requestedScopes(step);
  const missing: string[] = details.prompt.details?.missingOIDCScope ?? [];
  grant.addOIDCScope([...new Set([...missing, ...scopes.filter(isReservedScope), 'openid'])].join(' '));
  const grantId = await grant.save();
  const returnTo = await provider.interactionResult(ctx.req, ctx.res, { consent: { grantId } }, { mergeWithLastSubmission: true });
  ctx.status = 303;
  ctx.redirect(returnTo);
}

function requestedScopes(step: Step): string[] {
  return String(step.details.params.scope ?? '').split(' ').filter(Boolean);
}

async function stepClient(step: Step) {
  return clientInfo(await step.oidc.provider.Client.find(step.details.params.client_id));
}

function clientName(step: Step): string {
  return String(step.details.params.client_id ?? '');
}
