import type { Scope } from '../db/scope.js';
import { hasSecondFactor } from './amr.js';
import { getEffectivePolicy } from '../domain/policy/service.js';
import { userById } from '../domain/sign-in.js';
import type { InteractionHooks, LoginSession, PageContext } from '../oidc/interactions.js';
import { renderPage } from '../ui/render.js';

/**
 * The login module's part of the provider, handed to it by the composition root (src/app.ts):
 * where interactions happen (/ui/login/{uid}), when a session's login is too old for its user's
 * login policy, and the pages oidc-provider renders itself (sign-out, errors).
 */

/**
 * The login policy's passwordCheckLifetime and secondFactorCheckLifetime: a session older than
 * those asks for the credentials again (a session without its user, too).
 */
export async function loginExpired(scope: Scope, session: LoginSession): Promise<boolean> {
  const user = await userById(scope, session.accountId);
  if (!user) return true;
  const policy = await getEffectivePolicy(scope, 'login', user.org_id);
  const lifetime = hasSecondFactor(session.amr) ? Math.min(policy.passwordCheckLifetimeS, policy.secondFactorCheckLifetimeS) : policy.passwordCheckLifetimeS;
  return Math.floor(Date.now() / 1000) - session.authTime >= lifetime;
}

async function html(ctx: PageContext, view: string, title: string, data: Record<string, unknown>): Promise<void> {
  ctx.type = 'html';
  ctx.body = await renderPage(view, title, data);
}

export const loginInteractions: InteractionHooks = {
  url: (uid) => `/ui/login/${uid}`,
  loginExpired,
  logoutPage: (ctx, form) => html(ctx, 'logout', 'Sign out', { form, host: ctx.host }),
  loggedOutPage: (ctx, clientName) => html(ctx, 'logged-out', 'Signed out', { clientName }),
  errorPage: (ctx, e) =>
    html(ctx, 'error', 'Sign-in error', {
      heading: 'Something went wrong',
      code: e.error,
      message: e.error_description ?? e.error,
      details: '',
    }),
};
