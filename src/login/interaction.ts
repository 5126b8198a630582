import type { Context } from 'koa';
import type { z } from 'zod';
import type { Scope } from '../db/scope.js';
import type { ServiceContext, ServiceDeps } from '../domain/deps.js';
import { systemPrincipal } from '../domain/principal.js';
import type { UserRow } from '../domain/sign-in.js';
import type { Notifier } from '../notify/notifier.js';
import type { Interaction } from '../oidc/interactions.js';
import { interactionState, saveInteractionResult, saveInteractionState } from '../oidc/internals.js';
import type { InstanceProvider } from '../oidc/provider.js';
import { sendPage, type HtmlTarget } from '../ui/render.js';
import { csrfToken, csrfValid } from './csrf.js';
import type { LoginThrottle } from './throttle.js';

/**
 * One step of a login: the oidc-provider interaction a request belongs to (`/ui/login/{uid}/…`),
 * checked against its signed cookie and, for forms, the CSRF token; and the services the login
 * works with, handed in by the composition root (src/app.ts).
 */

/** What the login works with beyond the provider: built once per process (src/app.ts). */
export interface LoginServices {
  deps: ServiceDeps;
  /** failed-login throttle, consulted before any password hashing */
  throttle: LoginThrottle;
  /** what mail goes out when (verification, reset, password changed) */
  notifier: Notifier;
}

export interface Step<B = unknown> {
  oidc: InstanceProvider;
  details: Interaction;
  uid: string;
  csrf: string;
  body: B;
  services: LoginServices;
}

/**
 * The interaction of this request, from its signed cookie, checked against the URL's uid and,
 * for forms, the CSRF token. Renders an error page and returns undefined when it does not fit.
 */
export async function loadInteraction<B>(ctx: Context, services: LoginServices, schema?: z.ZodType<B>): Promise<Step<B> | undefined> {
  const oidc = ctx.state.oidc;
  let details: Interaction;
  try {
    details = await oidc.provider.interactionDetails(ctx.req, ctx.res);
  } catch {
    await sendErrorPage(
      ctx,
      400,
      'login.session_not_found',
      'Your sign-in session has expired or was not found. Please return to the application and start again.',
    );
    return undefined;
  }
  const uid = ctx.params.uid;
  if (details.uid !== uid) {
    await sendErrorPage(ctx, 400, 'login.session_mismatch', 'This sign-in page belongs to another sign-in session. Please start again.');
    return undefined;
  }
  const csrf = csrfToken(oidc.cookieKey, uid);
  let body = undefined as B;
  if (schema) {
    const parsed = schema.safeParse(ctx.request.body ?? {});
    const presented = (ctx.request.body as Record<string, unknown> | undefined)?.csrf;
    if (!csrfValid(oidc.cookieKey, uid, presented)) {
      await sendErrorPage(ctx, 403, 'login.csrf_invalid', 'The form was not accepted (its security token is missing or wrong). Please try again.');
      return undefined;
    }
    if (!parsed.success) {
      await sendErrorPage(ctx, 400, 'invalid_input', parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
      return undefined;
    }
    body = parsed.data;
  }
  return { oidc, details, uid, csrf, body, services };
}

/** An error page before any look is known (English, unbranded), e.g. for an expired interaction. */
export function sendErrorPage(ctx: HtmlTarget, status: number, code: string, message: string, details?: string): Promise<void> {
  return sendPage(ctx, 'error', 'Sign-in error', { heading: 'We could not sign you in', code, message, details: details ?? '' }, status);
}

/** The scopes the client asked for. */
export function requestedScopes(step: Step): string[] {
  return String(step.details.params.scope ?? '')
    .split(' ')
    .filter(Boolean);
}

/**
 * The small state the login keeps between steps, stored on the oidc-provider interaction itself
 * (so it expires with it and is bound to it).
 */
export interface LoginState {
  /** the org domain discovery (or an identified user who must use an IdP) switched to */
  discoveredOrgId?: string;
  /** a user who passed the password (or IdP) step and still owes a second factor */
  pendingUserId?: string;
  pendingAmr?: string[];
  /** a passkey being added during the login: to enrol the second factor the policy forces, or because the policy asks after a password sign-in */
  passkeySetup?: 'mfa' | 'prompt';
  /** a user who registered and still has to verify the email */
  registeredUserId?: string;
  /** a registration with an address that is someone else's, under ignoreUnknownUsernames: shown as done, nothing behind it */
  registeredDecoy?: { email: string; orgId: string };
  /** set when a login (not a registration) stopped for email verification: the factors it already passed */
  verifyAmr?: string[];
  /** a user on the password reset page */
  resetUserId?: string;
  /** an external login in flight */
  idp?: { idpId: string; state: string; codeVerifier: string; nonce: string };
  /** an external identity the user may turn into a new account (creation allowed, not automatic) */
  external?: {
    idpId: string;
    orgId: string;
    profile: { sub: string; email?: string; emailVerified: boolean; givenName?: string; familyName?: string; name?: string; preferredUsername?: string };
  };
  /** an external identity waiting to be linked after a password confirmation */
  link?: { idpId: string; sub: string; username?: string; userId: string };
}

export function loginState(step: Step): LoginState {
  return interactionState<LoginState>(step.details);
}

export function saveLoginState(step: Step, patch: Partial<LoginState>): Promise<void> {
  return saveInteractionState<LoginState>(step.details, patch);
}

/** The sign-in's writes before anyone is authenticated act as the system (and are audited so). */
export function asSystem(services: LoginServices, scope: Scope): ServiceContext {
  return { deps: services.deps, scope, actor: systemPrincipal };
}

/** A user acting on their own account with a mailed code they hold (no sign-in behind it). */
export function actingAs(services: LoginServices, scope: Scope, user: Pick<UserRow, 'id' | 'org_id'>): ServiceContext {
  return { deps: services.deps, scope, actor: { type: 'user', userId: user.id, orgId: user.org_id } };
}

/**
 * A user acting on their own account within their login (second factor and passkey enrolment).
 * The login is the sign-in itself: they proved who they are in this interaction, so their
 * authentication counts as now and enrolling a factor here needs no second sign-in.
 */
export function asUser(step: Step, user: Pick<UserRow, 'id' | 'org_id'>): ServiceContext {
  const ctx = actingAs(step.services, step.oidc.scope, user);
  return { ...ctx, actor: { type: 'user', userId: user.id, orgId: user.org_id, authTime: Math.floor(Date.now() / 1000) } };
}

/** Hands the interaction back to oidc-provider with `result`; it redirects onwards (to the client, or the next prompt). */
export async function finishInteraction(ctx: Context, step: Step, result: Record<string, unknown>, merge = false): Promise<void> {
  // The interaction this request loaded (and checked) takes the result: oidc-provider's
  // interactionResult would read it again.
  const returnTo = await saveInteractionResult(step.details, result, merge);
  ctx.status = 303;
  ctx.redirect(returnTo);
}
