import type { Context } from 'koa';
import type { Scope } from '../db/scope.js';
import { linkUserToIdp } from '../domain/idp/service.js';
import { beginUpstreamAuthorization, finishUpstreamAuthorization, upstreamCallback } from '../domain/idp/upstream.js';
import { idpForLogin, userById, userByLoginName, userOfExternalIdentity, usersWithEmail, type IdpWithSecret, type UserRow } from '../domain/sign-in.js';
import { applyExternalProfile, type ExternalProfile } from '../domain/user/external-profile.js';
import { createHumanUser } from '../domain/user/service.js';
import { DomainError } from '../shared/errors.js';
import { newId } from '../shared/ids.js';
import { asSystem, loginState, saveLoginState, type Step } from './interaction.js';
import { errorPage, lookFor, sendBranded, withLook, type Look } from './look.js';
import { showRefusal } from './refusal.js';
import { afterFirstFactor } from './mfa.js';
import { checkPassword } from './password-check.js';

/**
 * Login through an external OpenID Provider (a customer's Azure AD, Okta…) with openid-client:
 * code flow with PKCE, state and nonce kept on our interaction. The upstream redirects to one
 * fixed URI per instance (/ui/login/idp/callback), which hands over to the interaction named in
 * the state. Links are keyed by IdP id plus upstream subject, so one IdP cannot stand in for another.
 */

const UID = /^[A-Za-z0-9_-]{10,64}$/;
const sys = (step: Step) => asSystem(step.services, step.oidc.scope);

const fail = (ctx: Context, step: Step, detail: string) =>
  errorPage(ctx, step, 400, 'login.idp_failed', 'The sign-in with the external provider failed.', detail);

/** GET /ui/login/{uid}/idp/{idpId}: only an IdP the applicable login policy offers. */
export async function startIdpLogin(ctx: Context, step: Step, idpId: string): Promise<void> {
  await withLook(ctx, async () => {
    const look = await lookFor(ctx, step);
    if (!look.idps.some((i) => i.id === idpId)) return errorPage(ctx, step, 404, 'login.idp_not_offered', 'This identity provider is not offered here.');
    const idp = await idpForLogin(step.oidc.scope, idpId, step.services.deps.box);
    if (!idp) return errorPage(ctx, step, 404, 'login.idp_not_offered', 'This identity provider is not offered here.');
    let begun: Awaited<ReturnType<typeof beginUpstreamAuthorization>>;
    try {
      begun = await beginUpstreamAuthorization(step.services.deps.outbound, idp, `${ctx.state.origin}${upstreamCallback.path}`, step.uid);
    } catch (err) {
      return fail(ctx, step, (err as Error).message);
    }
    await saveLoginState(step, { idp: begun.pending });
    ctx.status = 303;
    ctx.redirect(begun.url.href);
  });
}

/**
 * GET /ui/login/idp/callback: forwards to who started the authorization, which the state's prefix
 * names: a sign-in's interaction (its cookie is scoped to that path), or the account page linking
 * an identity to its signed-in user.
 */
export async function idpCallback(ctx: Context): Promise<void> {
  const prefix = String(ctx.query.state ?? '').split('.')[0];
  if (prefix === upstreamCallback.accountLinkPrefix) {
    ctx.status = 303;
    return ctx.redirect(`${upstreamCallback.accountLinkReturn}?${ctx.querystring}`);
  }
  if (!UID.test(prefix)) return errorPage(ctx, undefined, 400, 'login.idp_failed', 'The answer of the external provider could not be matched to a sign-in.');
  ctx.status = 303;
  ctx.redirect(`/ui/login/${prefix}/idp/return?${ctx.querystring}`);
}

/** GET /ui/login/{uid}/idp/return: the code exchange, then the linked, linkable or new user. */
export async function idpReturn(ctx: Context, step: Step): Promise<void> {
  await withLook(ctx, async () => {
    const look = await lookFor(ctx, step);
    const pending = loginState(step).idp;
    if (!pending || ctx.query.state !== pending.state) return fail(ctx, step, 'state mismatch');
    await saveLoginState(step, { idp: undefined });
    const scope = step.oidc.scope;
    const idp = await idpForLogin(scope, pending.idpId, step.services.deps.box);
    if (!idp || idp.state !== 'active') return fail(ctx, step, 'the identity provider is gone');
    let profile: ExternalProfile;
    try {
      profile = await finishUpstreamAuthorization(
        step.services.deps.outbound,
        idp,
        new URL(`${ctx.state.origin}${upstreamCallback.path}?${ctx.querystring}`),
        pending,
      );
    } catch (err) {
      return fail(ctx, step, (err as Error).message);
    }
    return externalIdentity(ctx, step, look, idp, profile);
  });
}

async function externalIdentity(ctx: Context, step: Step, look: Look, idp: IdpWithSecret, p: ExternalProfile): Promise<void> {
  const scope = step.oidc.scope;
  let user = await userOfExternalIdentity(scope, idp.id, p.sub);
  if (user) {
    if (idp.is_auto_update) user = await applyExternalProfile(sys(step), user, p);
    return loginAs(ctx, step, user);
  }
  const candidate = await linkCandidate(scope, idp, p);
  if (candidate && idp.is_linking_allowed) {
    if ((idp.auto_linking === 'email' && p.emailVerified) || idp.auto_linking === 'username') {
      await linkUserToIdp(sys(step), { idpId: idp.id, externalUserId: p.sub, userId: candidate.id, externalUsername: p.preferredUsername ?? p.email });
      return loginAs(ctx, step, idp.is_auto_update ? await applyExternalProfile(sys(step), candidate, p) : candidate);
    }
    // Anyone can claim an address upstream: without a verified match the user proves the account is theirs.
    await saveLoginState(step, { link: { idpId: idp.id, sub: p.sub, username: p.preferredUsername ?? p.email, userId: candidate.id } });
    return sendBranded(ctx, look, 'login/idp-link', 'idp.linkTitle', {
      uid: step.uid,
      csrf: step.csrf,
      loginName: candidate.email ?? candidate.username,
      idpName: idp.name,
      error: '',
    });
  }
  if (idp.is_creation_allowed) {
    const orgId = idp.org_id ?? look.org.registrationOrgId;
    if (!orgId) return fail(ctx, step, 'no organization to create the user in');
    if (!idp.is_auto_creation) {
      // Creation allowed but not automatic: the user sees (and may correct) the profile first.
      await saveLoginState(step, { external: { idpId: idp.id, orgId, profile: p } });
      return showExternalRegistration(ctx, step, look, idp.name, profileForm(p), []);
    }
    const created = await createExternalUser(step, orgId, p);
    await linkUserToIdp(sys(step), { idpId: idp.id, externalUserId: p.sub, userId: created.id, externalUsername: p.preferredUsername ?? p.email });
    return loginAs(ctx, step, created);
  }
  return errorPage(ctx, step, 403, 'login.idp_no_account', look.t('idp.noAccount'));
}

/** An existing user the external identity may be linked to: same email (or login name), in an org the IdP serves. */
async function linkCandidate(scope: Scope, idp: IdpWithSecret, p: ExternalProfile): Promise<UserRow | undefined> {
  let rows: UserRow[] = [];
  if (idp.auto_linking === 'username' && p.preferredUsername) {
    const u = await userByLoginName(scope, p.preferredUsername);
    rows = u && (!idp.org_id || u.org_id === idp.org_id) ? [u] : [];
  } else if (p.email) {
    rows = await usersWithEmail(scope, p.email, idp.org_id);
  }
  return rows.length === 1 ? rows[0] : undefined;
}

export interface ExternalRegistrationForm {
  givenName: string;
  familyName: string;
  email: string;
  username: string;
}

const profileForm = (p: ExternalProfile): ExternalRegistrationForm => ({
  givenName: p.givenName ?? '',
  familyName: p.familyName ?? '',
  email: p.email ?? '',
  username: (p.preferredUsername ?? p.email ?? '').split('@')[0],
});

function showExternalRegistration(ctx: Context, step: Step, look: Look, idpName: string, values: ExternalRegistrationForm, errors: string[]): Promise<void> {
  return sendBranded(ctx, look, 'login/idp-register', 'register.title', { uid: step.uid, csrf: step.csrf, idpName, values, errors }, errors.length ? 400 : 200);
}

/** POST /ui/login/{uid}/idp/register: the confirmed profile becomes a user linked to the external identity. */
export async function submitExternalRegistration(ctx: Context, step: Step, form: ExternalRegistrationForm): Promise<void> {
  await withLook(ctx, async () => {
    const pending = loginState(step).external;
    const scope = step.oidc.scope;
    const idp = pending ? await idpForLogin(scope, pending.idpId, step.services.deps.box) : undefined;
    if (!pending || !idp) return errorPage(ctx, step, 400, 'login.unexpected_step', 'This sign-in step is not expected now. Please start again.');
    const look = await lookFor(ctx, step);
    // The upstream's word on the email holds only for the address it sent.
    const sameEmail = form.email.toLowerCase() === (pending.profile.email ?? '').toLowerCase();
    let user: UserRow;
    try {
      const { id } = await createHumanUser(sys(step), {
        orgId: pending.orgId,
        username: form.username,
        email: form.email,
        emailVerified: sameEmail && pending.profile.emailVerified,
        givenName: form.givenName,
        familyName: form.familyName,
        preferredLanguage: look.locale,
        state: 'active',
      });
      user = (await userById(scope, id))!;
    } catch (err) {
      if (err instanceof DomainError && err.status < 500) return showExternalRegistration(ctx, step, look, idp.name, form, [err.message]);
      throw err;
    }
    await linkUserToIdp(sys(step), {
      idpId: idp.id,
      externalUserId: pending.profile.sub,
      userId: user.id,
      externalUsername: pending.profile.preferredUsername ?? pending.profile.email,
    });
    await saveLoginState(step, { external: undefined });
    return loginAs(ctx, step, user);
  });
}

async function createExternalUser(step: Step, orgId: string, p: ExternalProfile): Promise<UserRow> {
  const base =
    (p.preferredUsername ?? p.email ?? `user-${p.sub}`)
      .split('@')[0]
      .replace(/[^\w.-]/g, '')
      .slice(0, 60) || `user${newId()}`;
  for (const username of [base, `${base}-${newId().slice(-6)}`]) {
    try {
      const { id } = await createHumanUser(sys(step), {
        orgId,
        username,
        email: p.email ?? `${username}@invalid.invalid`,
        emailVerified: p.emailVerified,
        givenName: p.givenName,
        familyName: p.familyName,
        displayName: p.name,
        state: 'active',
      });
      return (await userById(step.oidc.scope, id))!;
    } catch (err) {
      if (!(err instanceof DomainError && err.reason === 'user.username_taken')) throw err;
    }
  }
  throw new DomainError('conflict', 'no free username for the external user', 'login.idp_username_taken');
}

async function loginAs(ctx: Context, step: Step, user: UserRow): Promise<void> {
  if (user.state !== 'active' || user.type !== 'human') return errorPage(ctx, step, 403, 'login.user_inactive', 'This user cannot sign in.');
  const look = await lookFor(ctx, step, { userOrgId: user.org_id });
  if (look.org.enforced && look.org.orgId !== user.org_id) return showRefusal(ctx, step, user, 'login.user_not_in_requested_org');
  return afterFirstFactor(ctx, step, look, user, ['fed'], false);
}

/** POST /ui/login/{uid}/idp/link: the password of the existing account confirms the link. */
export async function submitIdpLink(ctx: Context, step: Step, password: string): Promise<void> {
  await withLook(ctx, async () => {
    const link = loginState(step).link;
    const scope = step.oidc.scope;
    const user = link ? await userById(scope, link.userId) : undefined;
    if (!link || !user) return errorPage(ctx, step, 400, 'login.unexpected_step', 'This sign-in step is not expected now. Please start again.');
    const look = await lookFor(ctx, step, { userOrgId: user.org_id });
    const { throttle, deps } = step.services;
    const r = await checkPassword({ scope, deps, throttle }, { user, loginName: user.username, password, address: ctx.ip });
    if (!r.ok) {
      const idp = await idpForLogin(scope, link.idpId, deps.box);
      return sendBranded(
        ctx,
        look,
        'login/idp-link',
        'idp.linkTitle',
        {
          uid: step.uid,
          csrf: step.csrf,
          loginName: user.email ?? user.username,
          idpName: idp?.name ?? '',
          error: look.t(r.reason === 'throttled' ? 'login.tooManyAttempts' : 'login.invalidCredentials'),
        },
        r.reason === 'throttled' ? 429 : 400,
      );
    }
    await linkUserToIdp(sys(step), { idpId: link.idpId, externalUserId: link.sub, userId: user.id, externalUsername: link.username });
    await saveLoginState(step, { link: undefined });
    return afterFirstFactor(ctx, step, look, r.user, ['pwd', 'fed'], true);
  });
}
