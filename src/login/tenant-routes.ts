import Router from '@koa/router';
import { bodyParser } from '@koa/bodyparser';
import type { Knex } from 'knex';
import { z } from 'zod';
import {
  codePaths, confirmPasswordReset, passwordByCodePage, requestPasswordReset, showPasswordReset, showRegistration,
  submitRegistration, submitVerification, verifyByLink,
} from './journeys.js';
import { idpCallback, idpReturn, startIdpLogin, submitExternalRegistration, submitIdpLink } from './idp-login.js';
import { loadInteraction } from './routes.js';
import { beginTenantLogin, finishMfaSetup, submitChosenAccount, submitMfa, submitMfaSetup } from './tenant-flow.js';

/**
 * The routes the tenant-aware login adds to the first login's (routes.ts): second factor,
 * registration, email verification, password reset, initial password, external IdPs and the
 * branding assets. Mounted in front of loginRouter by src/oidc/mount.ts.
 */
const form = bodyParser({ enableTypes: ['form'], formLimit: '16kb' });
const csrfOnly = z.object({ csrf: z.string() });
const codeForm = z.object({ csrf: z.string(), code: z.string().trim().min(1).max(64) });
const registerForm = z.object({
  csrf: z.string(),
  givenName: z.string().trim().min(1).max(200), familyName: z.string().trim().min(1).max(200),
  email: z.string().trim().min(3).max(320), username: z.string().trim().min(1).max(200),
  password: z.string().max(1024), passwordConfirm: z.string().max(1024), acceptTerms: z.string().optional(),
});
const resetRequestForm = z.object({ csrf: z.string(), loginName: z.string().trim().min(1).max(320) });
const resetConfirmForm = z.object({ csrf: z.string(), code: z.string().trim().min(1).max(64), password: z.string().max(1024) });
const externalRegisterForm = z.object({
  csrf: z.string(), givenName: z.string().trim().min(1).max(200), familyName: z.string().trim().min(1).max(200),
  email: z.string().trim().min(3).max(320), username: z.string().trim().min(1).max(200),
});
const passwordOnly = z.object({ csrf: z.string(), password: z.string().min(1).max(1024) });
const str = (v: unknown) => (typeof v === 'string' ? v : undefined);

export function tenantLoginRouter(knex: Knex): Router {
  const router = new Router({ prefix: '/ui/login' });

  // Outside any interaction: links from mails, and the fixed redirect URI registered at upstream IdPs.
  router.get('/verify-email', (ctx) => verifyByLink(ctx, String(ctx.query.user ?? ''), String(ctx.query.code ?? '')));
  for (const [kind, fullPath] of Object.entries(codePaths) as [keyof typeof codePaths, string][]) {
    const p = fullPath.slice('/ui/login'.length);
    router.get(p, (ctx) => passwordByCodePage(ctx, kind, { user: str(ctx.query.user), code: str(ctx.query.code) }));
    router.post(p, form, (ctx) => {
      const b = (ctx.request.body ?? {}) as Record<string, unknown>;
      return passwordByCodePage(ctx, kind, { user: str(b.user), code: str(b.code), password: str(b.password) ?? '' });
    });
  }
  router.get('/idp/callback', (ctx) => idpCallback(ctx));

  router.post('/:uid/select', form, async (ctx) => {
    const step = await loadInteraction(ctx, z.object({ csrf: z.string(), accountId: z.string().regex(/^\d{1,30}$/) }));
    if (step) await submitChosenAccount(ctx, step, step.body.accountId);
  });
  router.get('/:uid/other', async (ctx) => {
    const step = await loadInteraction(ctx);
    if (step) await beginTenantLogin(ctx, step, { chooser: false });
  });

  router.post('/:uid/mfa', form, async (ctx) => {
    const step = await loadInteraction(ctx, codeForm);
    if (step) await submitMfa(ctx, step, step.body.code);
  });
  router.post('/:uid/mfa/setup', form, async (ctx) => {
    const step = await loadInteraction(ctx, codeForm);
    if (step) await submitMfaSetup(ctx, step, step.body.code);
  });
  router.post('/:uid/mfa/done', form, async (ctx) => {
    const step = await loadInteraction(ctx, csrfOnly);
    if (step) await finishMfaSetup(ctx, step);
  });

  router.get('/:uid/register', async (ctx) => {
    const step = await loadInteraction(ctx);
    if (step) await showRegistration(ctx, step);
  });
  router.post('/:uid/register', form, async (ctx) => {
    const step = await loadInteraction(ctx, registerForm);
    if (step) await submitRegistration(ctx, step, step.body);
  });
  router.post('/:uid/verify', form, async (ctx) => {
    const step = await loadInteraction(ctx, codeForm);
    if (step) await submitVerification(ctx, step, step.body.code);
  });

  router.get('/:uid/reset', async (ctx) => {
    const step = await loadInteraction(ctx);
    if (step) await showPasswordReset(ctx, step, str(ctx.query.code));
  });
  router.post('/:uid/reset', form, async (ctx) => {
    const step = await loadInteraction(ctx, resetRequestForm);
    if (step) await requestPasswordReset(ctx, step, step.body.loginName);
  });
  router.post('/:uid/reset/confirm', form, async (ctx) => {
    const step = await loadInteraction(ctx, resetConfirmForm);
    if (step) await confirmPasswordReset(ctx, step, step.body.code, step.body.password);
  });

  router.get('/:uid/idp/return', async (ctx) => {
    const step = await loadInteraction(ctx);
    if (step) await idpReturn(ctx, step);
  });
  router.post('/:uid/idp/link', form, async (ctx) => {
    const step = await loadInteraction(ctx, passwordOnly);
    if (step) await submitIdpLink(ctx, step, step.body.password);
  });
  router.post('/:uid/idp/register', form, async (ctx) => {
    const step = await loadInteraction(ctx, externalRegisterForm);
    if (step) await submitExternalRegistration(ctx, step, step.body);
  });
  router.get('/:uid/idp/:idpId', async (ctx) => {
    const step = await loadInteraction(ctx);
    if (step) await startIdpLogin(ctx, step, ctx.params.idpId);
  });
  return router;
}
