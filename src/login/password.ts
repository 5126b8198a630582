import type { Context } from 'koa';
import { identify } from './identify.js';
import type { Step } from './interaction.js';
import { lookFor, withLook } from './look.js';
import { afterFirstFactor } from './mfa.js';
import { showLoginName, showPassword } from './pages.js';
import { checkPassword } from './password-check.js';

/**
 * The password step: throttled before argon2 and counted towards lockout (password-check.ts),
 * then the second factor rules (mfa.ts).
 */
export async function submitPassword(ctx: Context, step: Step, typed: string, password: string): Promise<void> {
  await withLook(ctx, async () => {
    const { throttle, deps } = step.services;
    const scope = step.oidc.scope;
    const look0 = await lookFor(ctx, step);
    // The second factors are read with the name: afterFirstFactor needs them right after argon2.
    const { user, loginName, secondFactors } = await identify(step, look0.org, typed, { secondFactorsAt: ctx.hostname });
    const look = user ? await lookFor(ctx, step, { userOrgId: user.org_id }) : look0;
    if (user && !look.policy.allowUsernamePassword) return showLoginName(ctx, step, look, loginName, look.t('login.usernamePasswordDisabled'));
    const result = await checkPassword({ scope, deps, throttle }, { user, loginName, password, address: ctx.ip });
    if (!result.ok) {
      // Under ignoreUnknownUsernames a wrong password reads the same for a name that matched no one (login-name.ts).
      const shown = look0.policy.ignoreUnknownUsernames ? look0 : look;
      if (result.reason === 'throttled') {
        ctx.set('Retry-After', String(result.retryAfterS));
        return showPassword(ctx, step, shown, loginName, shown.t('login.tooManyAttempts'), 429);
      }
      return showPassword(ctx, step, shown, loginName, shown.t('login.invalidCredentials'));
    }
    // The user may choose a second factor themselves (the checkbox on the password page).
    const wantsMfa = (ctx.request.body as Record<string, unknown> | undefined)?.setupMfa === 'yes';
    return afterFirstFactor(ctx, step, look, result.user, ['pwd'], true, { wantsMfa, secondFactors });
  });
}
