import { errors } from 'oidc-provider';
import type { Scope } from '../db/scope.js';
import { clientInfo, loginRefusal, refusalMessages, userById } from './account.js';
import { isReservedScope } from './claims.js';
import type { ClientUseCheck } from './client-use.js';

/**
 * The grant policy: which existing grant a returning session uses, and when consent is skipped.
 * First-party apps (skipConsent) get what they ask for without a consent page; the reserved
 * scopes are dynamic, so they are granted here rather than listed. A user the project checks or
 * an org scope refuse gets no grant, and so the login page shows the refusal.
 */
export function loadExistingGrantFor(scope: Scope, clientUse?: ClientUseCheck) {
  return async function loadExistingGrant(ctx: any) {
    const { client, session } = ctx.oidc;
    const grantId = ctx.oidc.result?.consent?.grantId || session.grantIdFor(client.clientId);
    let grant = grantId ? await ctx.oidc.provider.Grant.find(grantId) : undefined;
    const info = clientInfo(client);
    const user = await userById(scope, session.accountId);
    if (!user) return undefined;
    const refusal = await loginRefusal(scope, user, info, [...ctx.oidc.requestParamScopes], clientUse);
    if (refusal) {
      // Silent authentication cannot show the refusal page: the client hears access_denied
      // (an inactive user's session just counts for nothing: login_required, as for no session).
      if (ctx.oidc.prompts.has('none') && refusal !== 'login.user_inactive') throw new errors.AccessDenied(refusalMessages[refusal]);
      return undefined;
    }
    if (!grant && !info.skipConsent) return undefined;
    grant ??= new ctx.oidc.provider.Grant({ accountId: session.accountId, clientId: client.clientId });
    const requested = [...ctx.oidc.requestParamScopes] as string[];
    const wanted = info.skipConsent ? requested : requested.filter(isReservedScope);
    if (wanted.length) grant.addOIDCScope(wanted.join(' '));
    await grant.save();
    return grant;
  };
}

/** Refresh tokens only with offline_access, and only for clients allowed the refresh_token grant. */
export async function issueRefreshToken(_ctx: unknown, client: any, code: any): Promise<boolean> {
  return client.grantTypeAllowed('refresh_token') && code.scopes.has('offline_access');
}
