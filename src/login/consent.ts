import type { Context } from 'koa';
import { userById } from '../domain/sign-in.js';
import { clientInfo, isLoginable, loginRefusal } from '../oidc/account.js';
import { isReservedScope } from '../oidc/claims.js';
import { sendPage } from '../ui/render.js';
import { finishInteraction, requestedScopes, sendErrorPage, type Step } from './interaction.js';
import { firstPage } from './login-name.js';
import { showRefusal } from './refusal.js';

/**
 * Consent: skipped for first-party applications (oidc-provider only asks when the grant policy,
 * src/oidc/grants.ts, found no grant: a third-party app, or a refusal by the project checks,
 * which is shown here as an error page).
 */
export async function consentStep(ctx: Context, step: Step): Promise<void> {
  const accountId = step.details.session?.accountId;
  const user = accountId ? await userById(step.oidc.scope, accountId) : undefined;
  if (!isLoginable(user)) return firstPage(ctx, step, { chooser: false });
  const info = clientInfo(await step.oidc.provider.Client.find(step.details.params.client_id));
  const refusal = await loginRefusal(step.oidc.scope, user, info, requestedScopes(step));
  if (refusal) return showRefusal(ctx, step, user, refusal);
  if (info.skipConsent) return giveConsent(ctx, step);
  return sendPage(ctx, 'login/consent', 'Allow access', {
    uid: step.uid,
    csrf: step.csrf,
    clientName: String(step.details.params.client_id ?? ''),
    scopes: requestedScopes(step).filter((s) => s !== 'openid'),
  });
}

/** POST /ui/login/{uid}/consent (and first-party apps without a page): grants the requested scopes. */
export async function giveConsent(ctx: Context, step: Step): Promise<void> {
  const { provider } = step.oidc;
  const { details } = step;
  const accountId = details.session?.accountId;
  if (!accountId || details.prompt.name !== 'consent') {
    return sendErrorPage(ctx, 400, 'login.unexpected_step', 'This sign-in step is not expected now. Please start again.');
  }
  const grant = details.grantId ? await provider.Grant.find(details.grantId) : new provider.Grant({ accountId, clientId: details.params.client_id });
  const missing: string[] = details.prompt.details?.missingOIDCScope ?? [];
  grant.addOIDCScope([...new Set([...missing, ...requestedScopes(step).filter(isReservedScope), 'openid'])].join(' '));
  const grantId = await grant.save();
  return finishInteraction(ctx, step, { consent: { grantId } }, true);
}
