import type { Context } from 'koa';
import { showAccountChooser } from './account-chooser.js';
import { identify } from './identify.js';
import { loginState, saveLoginState, type Step } from './interaction.js';
import { lookFor, withLook, type Look } from './look.js';
import { showLoginName, showPassword } from './pages.js';

/**
 * The first page of a login and its login name step: the org whose rules apply (org-context.ts)
 * decides the policy, branding and IdPs of the page; the typed name is resolved under it
 * (identify.ts), discovering an org by the name's domain when no user matches.
 */

/** The account chooser when asked for (and not declined: "use another account"), else the login name form. */
export async function firstPage(ctx: Context, step: Step, opts: { chooser?: boolean } = {}): Promise<void> {
  const loginNamePage = () =>
    withLook(
      ctx,
      async () => {
        // Starting over ("use another account") forgets an org that an earlier name discovered.
        if (loginState(step).discoveredOrgId) await saveLoginState(step, { discoveredOrgId: undefined });
        const look = await lookFor(ctx, step);
        return showLoginName(ctx, step, look, String(step.details.params.login_hint ?? ''));
      },
      step,
    ).then(() => undefined);
  if (opts.chooser !== false && step.details.prompt.name === 'select_account') return showAccountChooser(ctx, step, loginNamePage);
  return loginNamePage();
}

function idpRedirect(ctx: Context, step: Step, idpId: string): void {
  ctx.status = 303;
  ctx.redirect(`/ui/login/${step.uid}/idp/${idpId}`);
}

/** POST /ui/login/{uid}/loginname */
export async function submitLoginName(ctx: Context, step: Step, typed: string): Promise<void> {
  await withLook(ctx, async () => {
    const look0 = await lookFor(ctx, step);
    const { user, loginName } = await identify(step, look0.org, typed);
    if (look0.policy.ignoreUnknownUsernames && !look0.org.enforced) return sameForKnownAndUnknown(ctx, step, look0, loginName);
    if (!user) {
      const discovered = look0.org.enforced ? look0 : await lookFor(ctx, step, { unmatchedLoginName: loginName });
      if (discovered.org.source === 'discovery') {
        await saveLoginState(step, { discoveredOrgId: discovered.org.orgId! });
        // An org that signs in only through one IdP: straight there.
        if (!discovered.policy.allowUsernamePassword && discovered.idps.length === 1) return idpRedirect(ctx, step, discovered.idps[0].id);
        return showLoginName(ctx, step, discovered, discovered.policy.allowUsernamePassword ? loginName : '');
      }
      if (look0.policy.ignoreUnknownUsernames) return showPassword(ctx, step, look0, loginName);
      return showLoginName(ctx, step, look0, loginName, look0.t('login.unknownUser'));
    }
    const look = await lookFor(ctx, step, { userOrgId: user.org_id });
    if (!look.policy.allowUsernamePassword) {
      // The IdP page that follows must offer the IdPs of the user's org, not the instance's.
      await saveLoginState(step, { discoveredOrgId: user.org_id });
      if (look.idps.length === 1) return idpRedirect(ctx, step, look.idps[0].id);
      return showLoginName(ctx, step, look, loginName, look.t('login.usernamePasswordDisabled'));
    }
    return showPassword(ctx, step, look, loginName);
  });
}

/**
 * Under ignoreUnknownUsernames the page after the login name must not tell whether the name
 * belongs to anyone: its look (policy, branding, IdPs, stylesheet) follows from what was typed
 * alone, the org its domain discovers or else the page's own, never from the user found. Once
 * the password is right, the user's own org applies (mfa.ts).
 */
async function sameForKnownAndUnknown(ctx: Context, step: Step, look0: Look, loginName: string): Promise<void> {
  const discovered = await lookFor(ctx, step, { unmatchedLoginName: loginName });
  const look = discovered.org.source === 'discovery' ? discovered : look0;
  if (look.org.source === 'discovery') await saveLoginState(step, { discoveredOrgId: look.org.orgId! });
  if (!look.policy.allowUsernamePassword) {
    if (look.idps.length === 1) return idpRedirect(ctx, step, look.idps[0].id);
    return showLoginName(ctx, step, look, '', look.t('login.usernamePasswordDisabled'));
  }
  return showPassword(ctx, step, look, loginName);
}
