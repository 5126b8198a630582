import type Router from '@koa/router';
import type { Context } from 'koa';
import { z } from 'zod';
import { listAuthFactors, confirmTotpEnrolment, regenerateRecoveryCodes, removeTotp, startTotpEnrolment } from '../domain/mfa/service.js';
import { DomainError } from '../shared/errors.js';
import { accountState, flash, paths } from './context.js';
import { renderAccount } from './render.js';

/**
 * Second factors: the authenticator app (TOTP) and its recovery codes. Adding or removing the app
 * and new recovery codes change how the account is protected, so each needs a fresh sign-in:
 * the user is sent through the instance's login again (prompt=login, max_age=0) and the ID
 * token's auth_time must be at most FRESH_SIGN_IN_S old when the action runs.
 */
export const FRESH_SIGN_IN_S = 5 * 60;
const codeForm = z.object({ code: z.string().trim().min(1).max(64) });

/** True when the session's sign-in is fresh; else the browser is on its way to sign in again, back to `returnTo`. */
function freshSignIn(ctx: Context, returnTo: string): boolean {
  const a = accountState(ctx);
  const authTime = Number(a.session.data.authTime ?? 0);
  if (authTime * 1000 > Date.now() - FRESH_SIGN_IN_S * 1000) return true;
  const query = new URLSearchParams({ reauth: '1', hint: a.me.loginName, return: returnTo });
  ctx.redirect(`${paths.home}/sign-in?${query.toString()}`);
  return false;
}

async function totpState(ctx: Context) {
  const a = accountState(ctx);
  const totp = (await listAuthFactors(a.svc, a.userId)).find((f) => f.type === 'totp');
  return totp?.type === 'totp' && totp.state === 'ready' ? { ready: true, recoveryCodesLeft: totp.recoveryCodesLeft } : { ready: false, recoveryCodesLeft: 0 };
}

async function showCodes(ctx: Context, codes: string[], headingKey: string): Promise<void> {
  await renderAccount(ctx, 'recovery-codes', { codes, headingKey }, { titleKey: headingKey, navKey: 'security' });
}

async function showSetup(ctx: Context, error = ''): Promise<void> {
  const a = accountState(ctx);
  const enrolment = await startTotpEnrolment(a.svc, a.userId, { issuer: a.branding.name || 'Tessera', accountName: a.me.loginName });
  await renderAccount(ctx, 'totp-setup', { enrolment, error }, { titleKey: 'security.setupTitle', navKey: 'security', status: error ? 400 : 200 });
}

export function securityPages(router: Router): void {
  router.get('/security', async (ctx) => {
    await renderAccount(ctx, 'security', { totp: await totpState(ctx) }, { titleKey: 'security.title', navKey: 'security' });
  });

  router.get('/security/totp', async (ctx) => {
    if (!freshSignIn(ctx, `${paths.security}/totp`)) return;
    if ((await totpState(ctx)).ready) return ctx.redirect(paths.security);
    await showSetup(ctx);
  });

  router.post('/security/totp', async (ctx) => {
    if (!freshSignIn(ctx, `${paths.security}/totp`)) return;
    const a = accountState(ctx);
    const parsed = codeForm.safeParse((ctx.request as { body?: unknown }).body ?? {});
    try {
      if (!parsed.success) throw new DomainError('invalid_input', 'no code');
      const { recoveryCodes } = await confirmTotpEnrolment(a.svc, a.userId, parsed.data.code);
      await showCodes(ctx, recoveryCodes, 'security.totpAdded');
    } catch (err) {
      if (!(err instanceof DomainError) || err.reason === 'mfa.totp_already_enrolled') throw err;
      // A new secret with the error: the old one was shown on a page that is gone now.
      await showSetup(ctx, a.t(err.code === 'rate_limited' ? 'security.tooManyCodes' : 'security.wrongCode'));
    }
  });

  for (const action of ['totp/remove', 'recovery-codes'] as const) {
    router.get(`/security/${action}`, async (ctx) => {
      if (!freshSignIn(ctx, `${paths.security}/${action}`)) return;
      if (!(await totpState(ctx)).ready) return ctx.redirect(paths.security);
      await renderAccount(
        ctx,
        'security-confirm',
        { action },
        { titleKey: action === 'recovery-codes' ? 'security.newCodesTitle' : 'security.removeTitle', navKey: 'security' },
      );
    });
  }

  router.post('/security/totp/remove', async (ctx) => {
    if (!freshSignIn(ctx, `${paths.security}/totp/remove`)) return;
    const a = accountState(ctx);
    await removeTotp(a.svc, a.userId);
    await flash(ctx, 'ok', a.t('security.totpRemoved'));
    ctx.redirect(paths.security);
  });

  router.post('/security/recovery-codes', async (ctx) => {
    if (!freshSignIn(ctx, `${paths.security}/recovery-codes`)) return;
    const a = accountState(ctx);
    const { recoveryCodes } = await regenerateRecoveryCodes(a.svc, a.userId);
    await showCodes(ctx, recoveryCodes, 'security.newCodesTitle');
  });
}
