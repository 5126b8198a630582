import Router from '@koa/router';
import { bodyParser } from '@koa/bodyparser';
import type { Context } from 'koa';
import { z } from 'zod';
import type { PasswordHasher } from '../shared/crypto.js';
import type { InstanceProvider } from '../oidc/provider.js';
import { csrfToken, csrfValid } from './csrf.js';
import { sendErrorPage } from './pages.js';
import { beginLogin, checkLoginName, checkPassword, giveConsent } from './flow.js';

/**
 * The interaction pages oidc-provider sends users to (`/ui/login/{uid}`): login name, then
 * password, then back to the client; consent only for apps that are not first-party. Each
 * step lives in flow.ts so the tenant-aware login (policies, MFA, IdPs) can add steps.
 */

declare module 'koa' {
  interface DefaultState {
    /** The provider of this request's instance and origin (set by src/oidc/mount.ts). */
    oidc: InstanceProvider;
  }
}

const form = bodyParser({ enableTypes: ['form'], formLimit: '16kb' });
const loginNameForm = z.object({ csrf: z.string(), loginName: z.string().trim().min(1).max(320) });
const passwordForm = z.object({ csrf: z.string(), loginName: z.string().trim().min(1).max(320), password: z.string().min(1).max(1024) });
const csrfOnly = z.object({ csrf: z.string() });

export interface LoginDeps { hasher: PasswordHasher }

export function loginRouter(deps: LoginDeps): Router {
  const router = new Router({ prefix: '/ui/login' });

  router.get('/:uid', async (ctx) => {
    const step = await loadInteraction(ctx);
    if (step) await beginLogin(ctx, step);
  });

  router.post('/:uid/loginname', form, async (ctx) => {
    const step = await loadInteraction(ctx, loginNameForm);
    if (step) await checkLoginName(ctx, step, step.body.loginName);
  });

  router.post('/:uid/password', form, async (ctx) => {
    const step = await loadInteraction(ctx, passwordForm);
    if (step) await checkPassword(ctx, step, deps.hasher, step.body.loginName, step.body.password);
  });

  router.post('/:uid/consent', form, async (ctx) => {
    const step = await loadInteraction(ctx, csrfOnly);
    if (step) await giveConsent(ctx, step);
  });

  router.post('/:uid/abort', form, async (ctx) => {
    const step = await loadInteraction(ctx, csrfOnly);
    if (!step) return;
    const returnTo = await step.oidc.provider.interactionResult(ctx.req, ctx.res,
      { error: 'access_denied', error_description: 'End-User aborted interaction' }, { mergeWithLastSubmission: false });
    ctx.status = 303;
    ctx.redirect(returnTo);
  });

  return router;
}

export interface Step<B = unknown> {
  oidc: InstanceProvider;
  details: any;
  uid: string;
  csrf: string;
  body: B;
}

/**
 * The interaction of this request, from its signed cookie, checked against the URL's uid and,
 * for forms, the CSRF token. Renders an error page and returns undefined when it does not fit.
 */
export async function loadInteraction<B>(ctx: Context, schema?: z.ZodType<B>): Promise<Step<B> | undefined> {
  const oidc = ctx.state.oidc;
  let details: any;
  try {
    details = await oidc.provider.interactionDetails(ctx.req, ctx.res);
  } catch {
    await sendErrorPage(ctx, 400, 'login.session_not_found', 'Your sign-in session has expired or was not found. Please return to the application and start again.');
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
  return { oidc, details, uid, csrf, body };
}
