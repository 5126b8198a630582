import type { Context } from 'koa';
import type { ServiceContext } from '../domain/deps.js';
import { loginNamesOf, type UserRow } from '../domain/user/repository.js';
import { getEffectivePolicy } from '../domain/policy/service.js';
import { mfaStep } from '../domain/mfa/next-step.js';
import { confirmTotpEnrolment, hasVerifiedTotp, startTotpEnrolment, verifySecondFactor } from '../domain/mfa/service.js';
import { DomainError } from '../shared/errors.js';
import { clientInfo, loginRefusal, refusalMessages } from '../oidc/account.js';
import { userById, userByLoginName } from '../oidc/repository.js';
import { chooseAccount, rememberAccount, showAccountChooser } from './account-chooser.js';
import { displayLoginName } from '../ui/branding.js';
import { completeLoginName, userFitsContext, type OrgContext } from './org-context.js';
import { checkPassword } from './password-check.js';
import { requireVerifiedEmail } from './journeys.js';
import { errorPage, loginState, lookFor, requestedScopes, saveLoginState, sendBranded, withLook, type Look } from './pages.js';
import type { Step } from './routes.js';

/**
 * The tenant-aware login steps: the org whose rules apply (org-context.ts) decides the login
 * policy, branding and IdPs of every page; the password step is throttled and counts towards
 * lockout; a second factor follows where the user has one or the policy forces one.
 */

export function showLoginName(ctx: Context, step: Step, look: Look, loginName: string, error = '', status?: number): Promise<void> {
  return sendBranded(ctx, look, 'login/org-login-name', 'login.title', { uid: step.uid, csrf: step.csrf, loginName, error }, status ?? (error ? 400 : 200));
}

function showPassword(ctx: Context, step: Step, look: Look, loginName: string, error = '', status?: number): Promise<void> {
  return sendBranded(ctx, look, 'login/org-password', 'login.passwordTitle', {
    uid: step.uid, csrf: step.csrf, loginName, shownName: displayLoginName(loginName, look.branding.label), error,
  }, status ?? (error ? 400 : 200));
}

/** The first page: the account chooser when asked for, else the login name form under the org that applies. */
export async function beginTenantLogin(ctx: Context, step: Step, opts: { chooser?: boolean } = {}): Promise<void> {
  const loginNamePage = () => withLook(ctx, async () => {
    // Starting over ("use another account") forgets an org that an earlier name discovered.
    if (loginState(step).discoveredOrgId) await saveLoginState(step, { discoveredOrgId: undefined });
    const look = await lookFor(ctx, step);
    return showLoginName(ctx, step, look, String(step.details.params.login_hint ?? ''));
  }, step).then(() => undefined);
  if (opts.chooser !== false && step.details.prompt.name === 'select_account') return showAccountChooser(ctx, step, loginNamePage);
  return loginNamePage();
}

/** POST /ui/login/{uid}/select: an account from the chooser. */
export async function submitChosenAccount(ctx: Context, step: Step, accountId: string): Promise<void> {
  await withLook(ctx, async () => {
    const look = await lookFor(ctx, step);
    return chooseAccount(ctx, step, accountId,
      (loginName) => (loginName ? showPassword(ctx, step, look, loginName) : showLoginName(ctx, step, look, '')));
  });
}

/**
 * The user a typed login name means under this org context: completed with the org's domain
 * where it must be, refused when it is an email and the user's org disables email login, and
 * refused when an org scope admits only its own users (whatever login_hint said).
 */
export async function identify(step: Step, org: OrgContext, typed: string): Promise<{ user?: UserRow; loginName: string }> {
  const scope = step.oidc.scope;
  const loginName = await completeLoginName(scope, org, typed);
  let user = await userByLoginName(scope, loginName);
  if (user && user.type !== 'human') user = undefined;
  if (user && !userFitsContext(org, user)) user = undefined;
  if (user && user.email?.toLowerCase() === loginName.toLowerCase()) {
    const names = (await loginNamesOf(scope, user)).map((n) => n.toLowerCase());
    if (!names.includes(loginName.toLowerCase()) && (await getEffectivePolicy(scope, 'login', user.org_id)).disableLoginWithEmail) user = undefined;
  }
  return { user, loginName };
}

function idpRedirect(ctx: Context, step: Step, idpId: string): void {
  ctx.status = 303;
  ctx.redirect(`/ui/login/${step.uid}/idp/${idpId}`);
}

export async function submitLoginName(ctx: Context, step: Step, typed: string): Promise<void> {
  await withLook(ctx, async () => {
    const look0 = await lookFor(ctx, step);
    const { user, loginName } = await identify(step, look0.org, typed);
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

export async function submitPassword(ctx: Context, step: Step, typed: string, password: string): Promise<void> {
  await withLook(ctx, async () => {
    const { throttle, deps } = ctx.state.login;
    const scope = step.oidc.scope;
    const look0 = await lookFor(ctx, step);
    const { user, loginName } = await identify(step, look0.org, typed);
    const look = user ? await lookFor(ctx, step, { userOrgId: user.org_id }) : look0;
    if (user && !look.policy.allowUsernamePassword) return showLoginName(ctx, step, look, loginName, look.t('login.usernamePasswordDisabled'));
    const result = await checkPassword({ scope, deps, throttle }, { user, loginName, password, address: ctx.ip });
    if (!result.ok) {
      if (result.reason === 'throttled') {
        ctx.set('Retry-After', String(result.retryAfterS));
        return showPassword(ctx, step, look, loginName, look.t('login.tooManyAttempts'), 429);
      }
      return showPassword(ctx, step, look, loginName, look.t('login.invalidCredentials'));
    }
    // The user may choose a second factor themselves (the checkbox on the password page).
    const wantsMfa = (ctx.request.body as Record<string, unknown> | undefined)?.setupMfa === 'yes';
    return afterFirstFactor(ctx, step, look, result.user, ['pwd'], true, wantsMfa);
  });
}

const refused = async (ctx: Context, step: Step, user: UserRow): Promise<boolean> => {
  const client = clientInfo(await step.oidc.provider.Client.find(step.details.params.client_id));
  const refusal = await loginRefusal(step.oidc.scope, user, client, requestedScopes(step));
  if (refusal) await errorPage(ctx, step, 403, refusal, refusalMessages[refusal]);
  return Boolean(refusal);
};

const selfContext = (ctx: Context, step: Step, user: Pick<UserRow, 'id' | 'org_id'>): ServiceContext =>
  ({ deps: ctx.state.login.deps, scope: step.oidc.scope, actor: { type: 'user', userId: user.id, orgId: user.org_id } });

/** After the password or an external IdP: a second factor where the user has one or the policy forces one. */
export async function afterFirstFactor(ctx: Context, step: Step, look: Look, user: UserRow, amr: string[], local: boolean, wantsMfa = false): Promise<void> {
  if (await refused(ctx, step, user)) return;
  // The rule is the domain's (the console's explainer applies it too).
  const next = mfaStep(look.policy, await hasVerifiedTotp({ scope: step.oidc.scope }, user.id), local, wantsMfa);
  if (next === 'none') return finishLogin(ctx, step, user.id, amr);
  if (next === 'refused') return errorPage(ctx, step, 403, 'login.no_second_factor_allowed', 'The login policy forces a second factor but allows none.');
  await saveLoginState(step, { pendingUserId: user.id, pendingAmr: amr });
  if (next === 'code') return sendBranded(ctx, look, 'login/mfa', 'mfa.title', { uid: step.uid, csrf: step.csrf, error: '' });
  return showMfaSetup(ctx, step, look, user, '');
}

async function showMfaSetup(ctx: Context, step: Step, look: Look, user: UserRow, error: string): Promise<void> {
  const enrolment = await startTotpEnrolment(selfContext(ctx, step, user), user.id, {
    issuer: look.branding.orgName || 'Tessera', accountName: user.email ?? user.username,
  });
  return sendBranded(ctx, look, 'login/mfa-setup', 'mfa.setupTitle', { uid: step.uid, csrf: step.csrf, error, ...enrolment }, error ? 400 : 200);
}

async function pendingUser(ctx: Context, step: Step): Promise<{ user: UserRow; look: Look } | undefined> {
  const id = loginState(step).pendingUserId;
  const user = id ? await userById(step.oidc.scope, id) : undefined;
  if (!user || user.state !== 'active') {
    await errorPage(ctx, step, 400, 'login.unexpected_step', 'This sign-in step is not expected now. Please start again.');
    return undefined;
  }
  return { user, look: await lookFor(ctx, step, { userOrgId: user.org_id }) };
}

export async function submitMfa(ctx: Context, step: Step, code: string): Promise<void> {
  await withLook(ctx, async () => {
    const p = await pendingUser(ctx, step);
    if (!p) return;
    const show = (error: string, status: number) => sendBranded(ctx, p.look, 'login/mfa', 'mfa.title', { uid: step.uid, csrf: step.csrf, error }, status);
    try {
      const r = await verifySecondFactor(selfContext(ctx, step, p.user), p.user.id, code);
      if (!r.ok) return show(p.look.t('mfa.invalidCode'), 400);
    } catch (err) {
      if (err instanceof DomainError && err.code === 'rate_limited') return show(p.look.t('mfa.tooManyAttempts'), 429);
      throw err;
    }
    return finishLogin(ctx, step, p.user.id, [...(loginState(step).pendingAmr ?? []), 'otp']);
  });
}

export async function submitMfaSetup(ctx: Context, step: Step, code: string): Promise<void> {
  await withLook(ctx, async () => {
    const p = await pendingUser(ctx, step);
    if (!p) return;
    try {
      const { recoveryCodes } = await confirmTotpEnrolment(selfContext(ctx, step, p.user), p.user.id, code);
      await saveLoginState(step, { pendingAmr: [...(loginState(step).pendingAmr ?? []), 'otp'] });
      return sendBranded(ctx, p.look, 'login/recovery-codes', 'mfa.recoveryCodesTitle', { uid: step.uid, csrf: step.csrf, codes: recoveryCodes });
    } catch (err) {
      if (!(err instanceof DomainError)) throw err;
      // A wrong code: the page comes again with a fresh secret (the unverified one is replaced).
      return showMfaSetup(ctx, step, p.look, p.user, p.look.t(err.code === 'rate_limited' ? 'mfa.tooManyAttempts' : 'mfa.invalidCode'));
    }
  });
}

/** After the recovery codes were shown: the enrolment is verified, so the login finishes. */
export async function finishMfaSetup(ctx: Context, step: Step): Promise<void> {
  const p = await pendingUser(ctx, step);
  if (!p) return;
  if (!(await hasVerifiedTotp({ scope: step.oidc.scope }, p.user.id))) {
    return errorPage(ctx, step, 400, 'login.unexpected_step', 'This sign-in step is not expected now. Please start again.');
  }
  return finishLogin(ctx, step, p.user.id, loginState(step).pendingAmr ?? ['pwd', 'otp']);
}

export async function finishLogin(ctx: Context, step: Step, accountId: string, amr: string[]): Promise<void> {
  // Every path (password, second factor, external IdP) ends here: an unverified email stops a local login here.
  const user = await userById(step.oidc.scope, accountId);
  if (user && (await requireVerifiedEmail(ctx, step, user, amr))) return;
  rememberAccount(ctx, accountId);
  // select_account is resolved too: whoever finishes a login has chosen an account.
  const returnTo = await step.oidc.provider.interactionResult(ctx.req, ctx.res, {
    login: { accountId, amr: [...new Set(amr)], remember: true }, select_account: {},
  }, { mergeWithLastSubmission: false });
  ctx.status = 303;
  ctx.redirect(returnTo);
}
