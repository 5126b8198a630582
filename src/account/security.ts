import type Router from '@koa/router';
import type { Context } from 'koa';
import { z } from 'zod';
import { listAuthFactors, confirmTotpEnrolment, regenerateRecoveryCodes, removeTotp, startTotpEnrolment } from '../domain/mfa/service.js';
import { requireRecentSignIn, isReauthenticationRequired } from '../domain/recent-sign-in.js';
import { DomainError } from '../shared/errors.js';
import { accountState, flash, paths, redirectToSignInAgain } from './context.js';
import { renderAccount } from './render.js';

/**
 * Second factors: the authenticator app (TOTP) and its recovery codes. Adding or removing the app
 * and new recovery codes change how the account is protected, so the domain refuses them after
 * an old sign-in (src/domain/recent-sign-in.ts, `login.freshSignInS`); the account's error
 * handler (./index.ts) turns that refusal into a trip through the login (prompt=login,
 * max_age=0) that comes back to the page. The confirmation pages ask the domain before they
 * show, so nobody confirms first and signs in after.
 */
const codeForm = z.object({ code: z.string().trim().min(1).max(64) });

/**
 * True when the domain finds the sign-in recent enough (src/domain/recent-sign-in.ts); else the
 * browser is on its way to sign in again, back to `returnTo`. For pages that start something the
 * domain only sees later (linking an identity runs through the upstream IdP first).
 */
export function freshSignIn(ctx: Context, returnTo: string): boolean {
  const a = accountState(ctx);
  try {
    requireRecentSignIn(a.svc, a.userId);
    return true;
  } catch (err) {
    if (!isReauthenticationRequired(err)) throw err;
  }
  redirectToSignInAgain(ctx, returnTo);
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
    if ((await totpState(ctx)).ready) return ctx.redirect(paths.security);
    await showSetup(ctx);
  });

  router.post('/security/totp', async (ctx) => {
    const a = accountState(ctx);
    const parsed = codeForm.safeParse((ctx.request as { body?: unknown }).body ?? {});
    try {
      if (!parsed.success) throw new DomainError('invalid_input', 'no code');
      const { recoveryCodes } = await confirmTotpEnrolment(a.svc, a.userId, parsed.data.code);
      await showCodes(ctx, recoveryCodes, 'security.totpAdded');
    } catch (err) {
      if (!(err instanceof DomainError) || err.reason === 'mfa.totp_already_enrolled' || isReauthenticationRequired(err)) throw err;
      // A new secret with the error: the old one was shown on a page that is gone now.
      await showSetup(ctx, a.t(err.code === 'rate_limited' ? 'security.tooManyCodes' : 'security.wrongCode'));
    }
  });

  for (const action of ['totp/remove', 'recovery-codes'] as const) {
    router.get(`/security/${action}`, async (ctx) => {
      requireRecentSignIn(accountState(ctx).svc, accountState(ctx).userId);
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
    const a = accountState(ctx);
    await removeTotp(a.svc, a.userId);
    await flash(ctx, 'ok', a.t('security.totpRemoved'));
    ctx.redirect(paths.security);
  });

  router.post('/security/recovery-codes', async (ctx) => {
    const a = accountState(ctx);
    const { recoveryCodes } = await regenerateRecoveryCodes(a.svc, a.userId);
    await showCodes(ctx, recoveryCodes, 'security.newCodesTitle');
  });
}
