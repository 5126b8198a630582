import type Router from '@koa/router';
import { z } from 'zod';
import { ownAccountProfile, updateOwnProfile } from '../domain/user/self-service.js';
import { supportedLocales } from '../ui/i18n.js';
import { accountState, flash, paths } from './context.js';
import { renderAccount } from './render.js';

/** The profile: names, phone and preferred language (the email changes through a mailed code). */
const field = z
  .string()
  .trim()
  .max(200)
  .transform((v) => (v === '' ? null : v));
const profileForm = z.object({
  givenName: field,
  familyName: field,
  displayName: field,
  nickName: field,
  phone: z
    .string()
    .trim()
    .max(50)
    .transform((v) => (v === '' ? null : v)),
  preferredLanguage: z.enum(['', ...supportedLocales]).transform((v) => (v === '' ? null : v)),
});

export function profilePages(router: Router): void {
  router.get('/', async (ctx) => {
    const a = accountState(ctx);
    await renderAccount(
      ctx,
      'profile',
      { profile: await ownAccountProfile(a.svc), languages: supportedLocales, errors: {} },
      { titleKey: 'profile.title', navKey: 'profile' },
    );
  });

  router.post('/', async (ctx) => {
    const a = accountState(ctx);
    const parsed = profileForm.safeParse((ctx.request as { body?: unknown }).body ?? {});
    if (!parsed.success) {
      const errors = Object.fromEntries(parsed.error.issues.map((i) => [String(i.path[0]), a.t('form.invalid')]));
      await renderAccount(
        ctx,
        'profile',
        { profile: await ownAccountProfile(a.svc), languages: supportedLocales, errors },
        { titleKey: 'profile.title', navKey: 'profile', status: 400 },
      );
      return;
    }
    await updateOwnProfile(a.svc, a.userId, parsed.data);
    await flash(ctx, 'ok', a.t('profile.saved'));
    ctx.redirect(paths.profile);
  });
}
