import type { Context } from 'koa';
import { secondFactorsHere } from '../domain/mfa/service.js';
import { hasPasskey, startPasskeyAuthentication, type RelyingParty } from '../domain/passkey/service.js';
import type { UserRow } from '../domain/sign-in.js';
import type { Step } from './interaction.js';
import type { Look } from './look.js';

/**
 * The passkey forms of the login pages (views/passkey-form.ejs): each carries the options of a
 * ceremony whose challenge is bound to the interaction. The relying party is the instance
 * domain the browser is on.
 */
export interface PasskeyForm {
  action: string;
  mode: 'authenticate' | 'register';
  challengeId: string;
  /** the options for the browser, as JSON */
  options: string;
  autofill?: boolean;
}

export function relyingParty(ctx: Context, look: Look): RelyingParty {
  return { rpId: ctx.hostname, origin: ctx.state.origin, name: look.branding.orgName || 'Tessera' };
}

/** The login name page's "Sign in with a passkey" (and the autofill), where the policy allows passwordless sign-in. */
export async function passwordlessForm(ctx: Context, step: Step, look: Look): Promise<PasskeyForm | undefined> {
  if (look.policy.passwordlessType !== 'allowed') return undefined;
  const { challengeId, options } = await startPasskeyAuthentication(
    { scope: step.oidc.scope, deps: step.services.deps },
    { rp: relyingParty(ctx, look), binding: step.uid, servesDomain: (d) => step.oidc.signIn.servesDomain(d) },
  );
  return { action: `/ui/login/${step.uid}/passkey`, mode: 'authenticate', challengeId, options: JSON.stringify(options), autofill: true };
}

/** The second factor page's passkey form: the user's own passkeys on this domain. */
export async function secondFactorForm(ctx: Context, step: Step, look: Look, user: UserRow): Promise<PasskeyForm> {
  const { challengeId, options } = await startPasskeyAuthentication(
    { scope: step.oidc.scope, deps: step.services.deps },
    { rp: relyingParty(ctx, look), binding: step.uid, userId: user.id, servesDomain: (d) => step.oidc.signIn.servesDomain(d) },
  );
  return { action: `/ui/login/${step.uid}/mfa/passkey`, mode: 'authenticate', challengeId, options: JSON.stringify(options) };
}

/** Whether the user has a passkey that works here (on this domain). */
export function hasPasskeyHere(ctx: Context, step: Step, user: UserRow): Promise<boolean> {
  return hasPasskey({ scope: step.oidc.scope }, user.id, ctx.hostname);
}

/** The user's second factors that work here: a verified authenticator app, a passkey on this domain (one query). */
export function secondFactorsHereFor(ctx: Context, step: Step, user: UserRow): Promise<{ totp: boolean; passkey: boolean }> {
  return secondFactorsHere({ scope: step.oidc.scope }, user.id, ctx.hostname);
}
