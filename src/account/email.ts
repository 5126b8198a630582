import type Router from '@koa/router';
import type { Context } from 'koa';
import { z } from 'zod';
import { confirmEmailChange, EMAIL_CHANGE_TTL_MIN, pendingEmailChange, startEmailChange } from '../domain/user/email-change.js';
import { ownAccountProfile } from '../domain/user/self-service.js';
import type { Notifier } from '../notify/notifier.js';
import { DomainError } from '../shared/errors.js';
import { accountState, flash, paths } from './context.js';
import { renderAccount } from './render.js';

/**
 * The email address: a new one gets a code by mail (typed here, or the mail's link opens this
 * page with it filled in), and replaces the old one only then; the old one then gets a notice
 * naming the new one. The phone is on the profile.
 */
const newEmailForm = z.object({ email: z.string().trim().min(1).max(320) });
const codeForm = z.object({ code: z.string().trim().min(1).max(64) });

async function show(ctx: Context, opts: { code?: string; errors?: Record<string, string> } = {}, status = 200): Promise<void> {
  const a = accountState(ctx);
  await renderAccount(
    ctx,
    'email',
    { profile: await ownAccountProfile(a.svc), pending: await pendingEmailChange(a.svc, a.userId), code: opts.code ?? '', errors: opts.errors ?? {} },
    { titleKey: 'email.title', navKey: 'email', status },
  );
}

export function emailPages(router: Router, notifier: Notifier): void {
  router.get('/email', async (ctx) => {
    const code = typeof ctx.query.code === 'string' ? ctx.query.code.slice(0, 64) : '';
    await show(ctx, { code });
  });

  router.post('/email', async (ctx) => {
    const a = accountState(ctx);
    const parsed = newEmailForm.safeParse((ctx.request as { body?: unknown }).body ?? {});
    if (!parsed.success) return show(ctx, { errors: { email: a.t('email.invalid') } }, 400);
    let change;
    try {
      change = await startEmailChange(a.svc, a.userId, parsed.data.email);
    } catch (err) {
      if (!(err instanceof DomainError)) throw err;
      const key = err.reason === 'user.email_change_too_soon' ? 'email.tooSoon' : err.code === 'invalid_input' ? 'email.invalid' : undefined;
      if (!key) throw err;
      return show(ctx, { errors: { email: a.t(key) } }, 400);
    }
    await notifier.newEmailCode(
      a.svc.scope,
      a.userId,
      { ...change, expiresMin: EMAIL_CHANGE_TTL_MIN },
      { origin: ctx.state.origin, brandingOrgId: a.session.actor.orgId, locale: a.locale },
    );
    await flash(ctx, 'ok', a.t('email.sent', { email: change.email }));
    ctx.redirect(paths.email);
  });

  router.post('/email/confirm', async (ctx) => {
    const a = accountState(ctx);
    const parsed = codeForm.safeParse((ctx.request as { body?: unknown }).body ?? {});
    const result = parsed.success ? await confirmEmailChange(a.svc, a.userId, parsed.data.code) : { ok: false as const };
    if (!result.ok) return show(ctx, { errors: { code: a.t('email.wrongCode') } }, 400);
    await notifier.emailChanged(a.svc.scope, a.userId, result, { origin: ctx.state.origin, brandingOrgId: a.session.actor.orgId, locale: a.locale });
    await flash(ctx, 'ok', a.t('email.changed', { email: result.email }));
    ctx.redirect(paths.email);
  });
}
