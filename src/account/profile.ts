import type Router from '@koa/router';
import type { Context } from 'koa';
import { z } from 'zod';
import { confirmPhone, ownPhoneState, startPhoneVerification } from '../domain/user/phone-verification.js';
import { ownAccountProfile, updateOwnProfile } from '../domain/user/self-service.js';
import type { Notifier } from '../notify/notifier.js';
import { DomainError } from '../shared/errors.js';
import { supportedLocales } from '../ui/i18n.js';
import { accountState, flash, paths } from './context.js';
import { renderAccount } from './render.js';

/**
 * The profile: names, phone and preferred language (the email changes through a mailed code). A
 * changed phone number is unverified until the code sent to it by SMS is entered here
 * (src/domain/user/phone-verification.ts); without an SMS provider the page says it cannot be
 * verified yet.
 */
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
const codeForm = z.object({ code: z.string().trim().min(1).max(20) });

async function show(ctx: Context, errors: Record<string, string> = {}, status = 200): Promise<void> {
  const a = accountState(ctx);
  await renderAccount(
    ctx,
    'profile',
    { profile: await ownAccountProfile(a.svc), phone: await ownPhoneState(a.svc, a.userId), languages: supportedLocales, errors },
    { titleKey: 'profile.title', navKey: 'profile', status },
  );
}

/** Sends a code to the user's unverified phone; the flash says how it went. */
async function sendPhoneCode(ctx: Context, notifier: Notifier): Promise<void> {
  const a = accountState(ctx);
  try {
    const sent = await startPhoneVerification(a.svc, a.userId);
    await notifier.phoneCode(a.svc.scope, a.userId, sent, a.locale);
    await flash(ctx, 'ok', a.t('phone.sent', { phone: sent.phone }));
  } catch (err) {
    if (!(err instanceof DomainError) || err.code !== 'rule_violation') throw err;
    await flash(ctx, 'error', a.t(err.reason === 'phone.code_recently_sent' ? 'phone.tooSoon' : 'phone.noSms'));
  }
}

export function profilePages(router: Router, notifier: Notifier): void {
  router.get('/', async (ctx) => show(ctx));

  router.post('/', async (ctx) => {
    const a = accountState(ctx);
    const parsed = profileForm.safeParse((ctx.request as { body?: unknown }).body ?? {});
    if (!parsed.success) {
      return show(ctx, Object.fromEntries(parsed.error.issues.map((i) => [String(i.path[0]), a.t('form.invalid')])), 400);
    }
    const before = await ownAccountProfile(a.svc);
    await updateOwnProfile(a.svc, a.userId, parsed.data);
    const phoneChanged = parsed.data.phone !== null && parsed.data.phone !== before.phone;
    if (phoneChanged && (await ownPhoneState(a.svc, a.userId)).smsAvailable) await sendPhoneCode(ctx, notifier);
    else await flash(ctx, 'ok', a.t('profile.saved'));
    ctx.redirect(paths.profile);
  });

  router.post('/phone/code', async (ctx) => {
    await sendPhoneCode(ctx, notifier);
    ctx.redirect(paths.profile);
  });

  router.post('/phone/verify', async (ctx) => {
    const a = accountState(ctx);
    const parsed = codeForm.safeParse((ctx.request as { body?: unknown }).body ?? {});
    if (!parsed.success || !(await confirmPhone(a.svc, a.userId, parsed.data.code))) return show(ctx, { phoneCode: a.t('phone.wrongCode') }, 400);
    await flash(ctx, 'ok', a.t('phone.verified'));
    ctx.redirect(paths.profile);
  });
}
