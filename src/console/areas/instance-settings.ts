import type Router from '@koa/router';
import type { Context } from 'koa';
import { z } from 'zod';
import { instanceSettings, smtpSettingsToTest } from '../../domain/instance/queries.js';
import { renameInstance, setSmtpSettings, updateOidcSettings } from '../../domain/instance/service.js';
import { getSmsProvider, removeSmsProvider, setHttpSmsProvider } from '../../domain/instance/sms-provider.js';
import { atVersion } from '../../domain/versions.js';
import { sendTestMail } from '../../mail/transport.js';
import { DomainError } from '../../shared/errors.js';
import { consoleState, flash, paths } from '../context.js';
import { checkbox, optional, parseForm, refusal, required, text, version, type FieldErrors } from '../forms.js';
import { renderConsole } from '../render.js';
import { atInstance } from './instance-guard.js';

/**
 * The instance's own settings (IAM_* managers): its name, its domains (shown; changed on their
 * own page, instance-domains.ts), token lifetimes, the
 * SMTP server with "send a test mail" (through the very transport account mails use). Each form
 * carries the instance's version and is refused if the instance changed meanwhile.
 */
const seconds = (min: number, max: number) => z.coerce.number('form.number').int('form.number').min(min, 'form.invalid').max(max, 'form.invalid');
const year = 366 * 86400;
const tokensForm = z.object({
  accessTokenLifetimeS: seconds(60, year),
  idTokenLifetimeS: seconds(60, year),
  refreshTokenIdleS: seconds(60, 10 * year),
  refreshTokenAbsoluteS: seconds(60, 10 * year),
  refreshTokenReuseGraceS: seconds(0, 300),
  version,
});
const smtpForm = z.object({
  host: required(253),
  port: seconds(1, 65535),
  tls: checkbox,
  user: optional(500),
  password: optional(1000),
  clearPassword: checkbox,
  fromAddress: required(320).pipe(z.email('form.email')),
  fromName: text(200),
  version,
});
const nameForm = z.object({ name: required(), version });
const testForm = z.object({ to: required(320).pipe(z.email('form.email')) });
const smsForm = z.object({ endpoint: required(2000), description: optional(200), rotateSigningKey: checkbox });

type Form = 'name' | 'tokens' | 'smtp' | 'test' | 'sms';
type State = { form?: Form; values?: Record<string, unknown>; errors?: FieldErrors; test?: { ok: boolean; text: string }; smsSigningKey?: string };

async function settingsPage(ctx: Context, state: State = {}, status = 200): Promise<void> {
  const c = consoleState(ctx);
  const { instance, domains } = await instanceSettings(c.svc);
  await renderConsole(
    ctx,
    'instance-settings',
    {
      instance,
      domains,
      sms: await getSmsProvider(c.svc),
      smsSigningKey: state.smsSigningKey,
      canWrite: c.perms.can('iam.write', {}),
      form: state.form,
      values: state.values ?? {},
      errors: state.errors ?? {},
      test: state.test,
    },
    { titleKey: 'instanceSettings.title', navKey: 'instance', status },
  );
}

/** Runs a versioned change of the instance; bad input and a stale version come back on the form. */
async function save(ctx: Context, form: Form, values: Record<string, unknown>, seen: number | undefined, run: Parameters<typeof atVersion>[4], fields = {}) {
  const c = consoleState(ctx);
  try {
    await atVersion(c.svc, 'instance', c.svc.scope.instanceId, seen, run);
  } catch (err) {
    const stale = err instanceof DomainError && err.code === 'precondition_failed';
    await settingsPage(ctx, { form, values, errors: refusal(ctx, err, fields) }, stale ? 409 : 400);
    return false;
  }
  await flash(ctx, 'ok', c.t('instanceSettings.saved'));
  ctx.redirect(paths.instanceSettings);
  return true;
}

export function instanceSettingsRoutes(router: Router): void {
  const base = '/instance/settings';
  const guard = atInstance('iam.read');
  router.get(base, guard, (ctx) => settingsPage(ctx));

  router.post(`${base}/name`, guard, async (ctx) => {
    const form = parseForm(ctx, nameForm);
    if (!form.ok) return settingsPage(ctx, { form: 'name', ...form }, 400);
    await save(ctx, 'name', form.values, form.data.version, (svc) => renameInstance(svc, form.data.name), { invalid_input: 'name' });
  });

  router.post(`${base}/tokens`, guard, async (ctx) => {
    const form = parseForm(ctx, tokensForm);
    if (!form.ok) return settingsPage(ctx, { form: 'tokens', ...form }, 400);
    const { version: seen, ...lifetimes } = form.data;
    await save(ctx, 'tokens', form.values, seen, (svc) => updateOidcSettings(svc, lifetimes), {
      'instance.refresh_idle_exceeds_absolute': 'refreshTokenIdleS',
    });
  });

  router.post(`${base}/smtp`, guard, async (ctx) => {
    const form = parseForm(ctx, smtpForm);
    if (!form.ok) return settingsPage(ctx, { form: 'smtp', ...form, values: { ...form.values, password: '' } }, 400);
    const { version: seen, password, clearPassword, user, ...rest } = form.data;
    // The password is write-only: empty keeps the stored one, "remove" clears it.
    const pw = clearPassword ? { password: null } : password ? { password } : {};
    await save(ctx, 'smtp', { ...form.values, password: '' }, seen, (svc) => setSmtpSettings(svc, { ...rest, user: user ?? null, ...pw }), {
      invalid_input: 'host',
    });
  });

  // The SMS provider (HTTP webhook, src/domain/instance/sms-provider.ts): a new signing key is shown on the answer page, once.
  router.post(`${base}/sms`, guard, async (ctx) => {
    const c = consoleState(ctx);
    const form = parseForm(ctx, smsForm);
    if (!form.ok) return settingsPage(ctx, { form: 'sms', ...form }, 400);
    let saved;
    try {
      saved = await setHttpSmsProvider(c.svc, form.data);
    } catch (err) {
      return settingsPage(ctx, { form: 'sms', values: form.values, errors: refusal(ctx, err, { invalid_input: 'endpoint' }) }, 400);
    }
    if (saved.signingKey) return settingsPage(ctx, { smsSigningKey: saved.signingKey });
    await flash(ctx, 'ok', c.t('instanceSettings.saved'));
    ctx.redirect(paths.instanceSettings);
  });

  router.post(`${base}/sms/remove`, guard, async (ctx) => {
    const c = consoleState(ctx);
    await removeSmsProvider(c.svc);
    await flash(ctx, 'ok', c.t('instanceSettings.smsRemoved'));
    ctx.redirect(paths.instanceSettings);
  });

  router.post(`${base}/smtp/test`, guard, async (ctx) => {
    const c = consoleState(ctx);
    const form = parseForm(ctx, testForm);
    if (!form.ok) return settingsPage(ctx, { form: 'test', ...form }, 400);
    const smtp = await smtpSettingsToTest(c.svc);
    if (!smtp) return settingsPage(ctx, { form: 'test', values: form.values, test: { ok: false, text: c.t('instanceSettings.smtpNotSet') } }, 400);
    try {
      const sent = await sendTestMail(smtp, form.data.to, c.svc.deps.outbound);
      await settingsPage(ctx, {
        form: 'test',
        values: form.values,
        test: { ok: true, text: c.t('instanceSettings.testSent', { to: form.data.to, response: sent.response }) },
      });
    } catch (err) {
      // The SMTP server's own answer is what the admin needs to fix the settings.
      await settingsPage(
        ctx,
        { form: 'test', values: form.values, test: { ok: false, text: c.t('instanceSettings.testFailed', { error: (err as Error).message }) } },
        502,
      );
    }
  });
}
