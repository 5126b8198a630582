import Router from '@koa/router';
import { bodyParser } from '@koa/bodyparser';
import type { Context } from 'koa';
import { z } from 'zod';
import { mailLinkPaths } from '../notify/notifier.js';
import { submitChosenAccount } from './account-chooser.js';
import { consentStep, giveConsent } from './consent.js';
import { verifyByLink, submitVerification } from './email-verification.js';
import { abortLogin } from './finish.js';
import { idpCallback, idpReturn, startIdpLogin, submitExternalRegistration, submitIdpLink } from './idp.js';
import { loadInteraction, type LoginServices, type Step } from './interaction.js';
import { firstPage, submitLoginName } from './login-name.js';
import { choosePasskeySetup, finishMfaSetup, submitMfa, submitMfaPasskey, submitMfaSetup } from './mfa.js';
import { skipPasskeySetup, submitPasskeySetup, submitPasswordless } from './passkey.js';
import { confirmPasswordReset, passwordByCodePage, passwordLinks, requestPasswordReset, showPasswordReset } from './password-reset.js';
import { submitPassword } from './password.js';
import { showRegistration, submitRegistration } from './registration.js';

/**
 * Every route of the login, in one table: the interaction pages oidc-provider sends users to
 * (`/ui/login/{uid}`: login name, password, second factor, account chooser, registration, reset,
 * external IdPs, consent), and the pages outside any interaction (mail links, the IdP callback).
 * Each handler parses its form (zod) and hands over to the module of its step.
 */
const form = bodyParser({ enableTypes: ['form'], formLimit: '16kb' });
const loginName = z.string().trim().min(1).max(320);
const csrfOnly = z.object({ csrf: z.string() });
const codeForm = z.object({ csrf: z.string(), code: z.string().trim().min(1).max(64) });
const loginNameForm = z.object({ csrf: z.string(), loginName });
const passwordForm = z.object({ csrf: z.string(), loginName, password: z.string().min(1).max(1024) });
const chooseForm = z.object({ csrf: z.string(), accountId: z.string().regex(/^\d{1,30}$/) });
const registerForm = z.object({
  csrf: z.string(),
  givenName: z.string().trim().min(1).max(200),
  familyName: z.string().trim().min(1).max(200),
  email: z.string().trim().min(3).max(320),
  username: z.string().trim().min(1).max(200),
  password: z.string().max(1024),
  passwordConfirm: z.string().max(1024),
  acceptTerms: z.string().optional(),
});
const resetRequestForm = z.object({ csrf: z.string(), loginName });
const resetConfirmForm = z.object({ csrf: z.string(), code: z.string().trim().min(1).max(64), password: z.string().max(1024) });
const externalRegisterForm = z.object({
  csrf: z.string(),
  givenName: z.string().trim().min(1).max(200),
  familyName: z.string().trim().min(1).max(200),
  email: z.string().trim().min(3).max(320),
  username: z.string().trim().min(1).max(200),
});
const passwordOnly = z.object({ csrf: z.string(), password: z.string().min(1).max(1024) });
/** A passkey ceremony's answer: the authenticator's response as JSON (verified by src/domain/passkey). */
const passkeyForm = z.object({
  csrf: z.string(),
  challengeId: z.string().max(40),
  response: z.string().min(1).max(20_000),
  name: z.string().max(200).optional(),
});
const str = (v: unknown) => (typeof v === 'string' ? v : undefined);

export const LOGIN_PREFIX = '/ui/login';

/** GET /ui/login/{uid}: the consent step when that is oidc-provider's prompt, else the first page of a login. */
function beginInteraction(ctx: Context, step: Step): Promise<void> {
  return step.details.prompt.name === 'consent' ? consentStep(ctx, step) : firstPage(ctx, step);
}

export function loginRoutes(services: LoginServices): Router {
  const router = new Router({ prefix: LOGIN_PREFIX });
  /** A step of the interaction in the URL: the handler runs only when the interaction (and the form's CSRF token) fits. */
  const step =
    <B>(schema: z.ZodType<B> | undefined, handle: (ctx: Context, step: Step<B>) => Promise<void>) =>
    async (ctx: Context) => {
      const s = await loadInteraction(ctx, services, schema);
      if (s) await handle(ctx, s);
    };
  const local = (fullPath: string) => fullPath.slice(LOGIN_PREFIX.length);

  // Outside any interaction (first: literal paths win over /{uid}): links from mails, and the
  // fixed redirect URI registered at upstream IdPs.
  router.get(local(mailLinkPaths.verifyEmail), (ctx) => verifyByLink(ctx, services, String(ctx.query.user ?? ''), String(ctx.query.code ?? '')));
  for (const [kind, fullPath] of Object.entries(passwordLinks) as [keyof typeof passwordLinks, string][]) {
    router.get(local(fullPath), (ctx) => passwordByCodePage(ctx, services, kind, { user: str(ctx.query.user), code: str(ctx.query.code) }));
    router.post(local(fullPath), form, (ctx) => {
      const b = (ctx.request.body ?? {}) as Record<string, unknown>;
      return passwordByCodePage(ctx, services, kind, {
        user: str(b.user),
        code: str(b.code),
        password: str(b.password) ?? '',
        passwordConfirm: str(b.passwordConfirm) ?? '',
      });
    });
  }
  router.get('/idp/callback', (ctx) => idpCallback(ctx));

  // The first page, and the login name and password steps.
  router.get('/:uid', step(undefined, beginInteraction));
  router.get(
    '/:uid/other',
    step(undefined, (ctx, s) => firstPage(ctx, s, { chooser: false })),
  );
  router.post(
    '/:uid/select',
    form,
    step(chooseForm, (ctx, s) => submitChosenAccount(ctx, s, s.body.accountId)),
  );
  router.post(
    '/:uid/loginname',
    form,
    step(loginNameForm, (ctx, s) => submitLoginName(ctx, s, s.body.loginName)),
  );
  router.post(
    '/:uid/password',
    form,
    step(passwordForm, (ctx, s) => submitPassword(ctx, s, s.body.loginName, s.body.password)),
  );

  // The second factor.
  router.post(
    '/:uid/mfa',
    form,
    step(codeForm, (ctx, s) => submitMfa(ctx, s, s.body.code)),
  );
  router.post(
    '/:uid/mfa/setup',
    form,
    step(codeForm, (ctx, s) => submitMfaSetup(ctx, s, s.body.code)),
  );
  router.post('/:uid/mfa/done', form, step(csrfOnly, finishMfaSetup));
  router.post(
    '/:uid/mfa/passkey',
    form,
    step(passkeyForm, (ctx, s) => submitMfaPasskey(ctx, s, s.body)),
  );
  router.get('/:uid/mfa/passkey', step(undefined, choosePasskeySetup));

  // Passkeys: signing in with one alone, adding one during the login.
  router.post(
    '/:uid/passkey',
    form,
    step(passkeyForm, (ctx, s) => submitPasswordless(ctx, s, s.body)),
  );
  router.post(
    '/:uid/passkey/register',
    form,
    step(passkeyForm, (ctx, s) => submitPasskeySetup(ctx, s, s.body)),
  );
  router.post('/:uid/passkey/skip', form, step(csrfOnly, skipPasskeySetup));

  // Registration and email verification.
  router.get('/:uid/register', step(undefined, showRegistration));
  router.post(
    '/:uid/register',
    form,
    step(registerForm, (ctx, s) => submitRegistration(ctx, s, s.body)),
  );
  router.post(
    '/:uid/verify',
    form,
    step(codeForm, (ctx, s) => submitVerification(ctx, s, s.body.code)),
  );

  // Password reset.
  router.get(
    '/:uid/reset',
    step(undefined, (ctx, s) => showPasswordReset(ctx, s, str(ctx.query.code))),
  );
  router.post(
    '/:uid/reset',
    form,
    step(resetRequestForm, (ctx, s) => requestPasswordReset(ctx, s, s.body.loginName)),
  );
  router.post(
    '/:uid/reset/confirm',
    form,
    step(resetConfirmForm, (ctx, s) => confirmPasswordReset(ctx, s, s.body.code, s.body.password)),
  );

  // External IdPs.
  router.get('/:uid/idp/return', step(undefined, idpReturn));
  router.post(
    '/:uid/idp/link',
    form,
    step(passwordOnly, (ctx, s) => submitIdpLink(ctx, s, s.body.password)),
  );
  router.post(
    '/:uid/idp/register',
    form,
    step(externalRegisterForm, (ctx, s) => submitExternalRegistration(ctx, s, s.body)),
  );
  router.get(
    '/:uid/idp/:idpId',
    step(undefined, (ctx, s) => startIdpLogin(ctx, s, ctx.params.idpId)),
  );

  // Consent, and giving up.
  router.post('/:uid/consent', form, step(csrfOnly, giveConsent));
  router.post('/:uid/abort', form, step(csrfOnly, abortLogin));
  return router;
}
