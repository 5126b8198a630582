import type { Context } from 'koa';
import type { UserRow } from '../domain/sign-in.js';
import { refusalMessages, type LoginRefusal } from '../oidc/account.js';
import type { Step } from './interaction.js';
import { lookFor, sendBranded } from './look.js';

/**
 * A user the application does not admit (projectRoleCheck, hasProjectCheck, an org scope naming
 * another org): the page wears the look of the org whose rules apply (org-context.ts: the
 * requested org, the project's, or the user's), and is no dead end: "use another account" starts
 * over at the login name, "back to the application" ends the interaction with access_denied, which
 * oidc-provider returns with the state to the client's registered redirect URI.
 */
export async function showRefusal(ctx: Context, step: Step, user: UserRow, refusal: LoginRefusal): Promise<void> {
  const look = await lookFor(ctx, step, { userOrgId: user.org_id });
  const key = `error.${refusal}`;
  const message = look.t(key) === key ? refusalMessages[refusal] : look.t(key);
  return sendBranded(ctx, look, 'login/refusal', 'refusal.title', { uid: step.uid, csrf: step.csrf, code: refusal, message }, 403);
}
