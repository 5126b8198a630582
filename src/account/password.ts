import type Router from '@koa/router';
import type { Context } from 'koa';
import { z } from 'zod';
import type { UnmetPasswordRule } from '../domain/policy/password.js';
import { setPassword } from '../domain/user/service.js';
import type { Notifier } from '../notify/notifier.js';
import { DomainError } from '../shared/errors.js';
import { translator } from '../ui/i18n.js';
import { accountState, flash, paths } from './context.js';
import { renderAccount } from './render.js';

/**
 * Changing the password: the current one first (setPassword checks it), then the org's complexity
 * rules and the breached-password list, worded in the reader's language; afterwards the notice
 * mail, where the org's notification policy asks for one (src/notify decides).
 */
const passwordForm = z.object({
  currentPassword: z.string().max(1000),
  newPassword: z.string().max(1000),
  confirmPassword: z.string().max(1000),
});

type Errors = Partial<Record<'currentPassword' | 'newPassword' | 'confirmPassword', string[]>>;

async function show(ctx: Context, errors: Errors = {}, status = 200): Promise<void> {
  await renderAccount(ctx, 'password', { errors }, { titleKey: 'password.title', navKey: 'password', status });
}

export function passwordPages(router: Router, notifier: Notifier): void {
  router.get('/password', (ctx) => show(ctx));

  router.post('/password', async (ctx) => {
    const a = accountState(ctx);
    const parsed = passwordForm.safeParse((ctx.request as { body?: unknown }).body ?? {});
    if (!parsed.success) return show(ctx, { newPassword: [a.t('form.invalid')] }, 400);
    const { currentPassword, newPassword, confirmPassword } = parsed.data;
    if (newPassword !== confirmPassword) return show(ctx, { confirmPassword: [a.t('password.differ')] }, 400);
    try {
      await setPassword(a.svc, a.userId, newPassword, { currentPassword });
    } catch (err) {
      if (!(err instanceof DomainError)) throw err;
      if (err.reason === 'user.password_mismatch') return show(ctx, { currentPassword: [a.t('password.wrongCurrent')] }, 400);
      if (err.reason === 'password.complexity') {
        // The login's wording of each rule (locales/*/login.json), so both pages say the same.
        const t = translator(a.locale);
        const rules = (err.details?.unmetRules ?? []) as UnmetPasswordRule[];
        return show(ctx, { newPassword: rules.map((u) => t(`password.${u.rule}`, 'n' in u ? { n: u.n } : undefined)) }, 400);
      }
      throw err;
    }
    await notifier.passwordChanged(a.svc.scope, a.userId, ctx.state.origin).catch((err) => ctx.app.emit('error', err, ctx));
    await flash(ctx, 'ok', a.t('password.changed'));
    ctx.redirect(paths.password);
  });
}
