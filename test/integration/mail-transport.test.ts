import { testRuntime, testInstance, type TestInstance } from '../support/runtime.js';
import { MailCatcher } from '../browser/mail-catcher.js';
import type { Runtime } from '../../src/runtime/index.js';
import type { ServiceContext } from '../../src/domain/deps.js';
import { systemPrincipal } from '../../src/domain/principal.js';
import { setSmtpSettings } from '../../src/domain/instance/settings.js';
import { createHumanUser } from '../../src/domain/user/service.js';
import { getUser, type UserRow } from '../../src/domain/user/repository.js';
import { setOrgPolicy } from '../../src/domain/policy/service.js';
import { createOrg } from '../../src/domain/org/service.js';
import { putLabelAsset } from '../../src/domain/policy/label-assets.js';
import { createSmtpTransport, MailTransports } from '../../src/mail/transport.js';
import { Mailer } from '../../src/mail/mailer.js';
import { Notifier } from '../../src/notify/notifier.js';
import { directDelivery } from '../../src/notify/delivery.js';
import { newId } from '../../src/shared/ids.js';
import { noticesHeard } from '../support/notices.js';

let rt: Runtime;
let a: TestInstance;
let b: TestInstance;
let smtpA: MailCatcher;
let smtpB: MailCatcher;
let transports: MailTransports;
let mailer: Mailer;

const sys = (i: TestInstance): ServiceContext => ({ deps: rt.deps, scope: i.scope, actor: systemPrincipal });
const smtp = (port: number, from: string) => ({ host: '127.0.0.1', port, tls: false, fromAddress: from, fromName: 'Accounts' });

beforeAll(async () => {
  rt = await testRuntime();
  [a, b] = await Promise.all([testInstance(rt, 'Mail A'), testInstance(rt, 'Mail B')]);
  [smtpA, smtpB] = await Promise.all([new MailCatcher().start(), new MailCatcher().start()]);
  await setSmtpSettings(sys(a), smtp(smtpA.port, 'noreply@a.example'));
  await setSmtpSettings(sys(b), smtp(smtpB.port, 'noreply@b.example'));
  transports = new MailTransports(rt.db.knex, rt.deps.box, rt.deps.changes, rt.deps.outbound);
  mailer = new Mailer(transports);
});
afterAll(async () => {
  transports.close();
  await Promise.all([smtpA.close(), smtpB.close()]);
  await rt.close();
});

async function user(i: TestInstance, opts: { orgId?: string; lang?: string } = {}): Promise<UserRow> {
  const n = newId();
  const { id } = await createHumanUser(sys(i), {
    orgId: opts.orgId ?? i.orgId,
    username: `u${n}`,
    email: `u${n}@mail.example`,
    givenName: 'Ada',
    password: 'Passw0rd!x',
    preferredLanguage: opts.lang,
  });
  return (await getUser(i.scope, id))!;
}

test('two instances with different SMTP servers each send through their own', async () => {
  const ua = await user(a);
  const ub = await user(b);
  await mailer.send(a.scope, ua, { kind: 'verifyEmail', code: 'AAA111', link: 'https://a.example/verify?c=AAA111', expiresMin: 60 });
  await mailer.send(b.scope, ub, { kind: 'verifyEmail', code: 'BBB222', link: 'https://b.example/verify?c=BBB222', expiresMin: 60 });
  const ma = await smtpA.waitFor(ua.email!);
  const mb = await smtpB.waitFor(ub.email!);
  expect(ma).toMatchObject({ from: 'noreply@a.example', subject: 'Verify your email address' });
  expect(mb.from).toBe('noreply@b.example');
  expect(ma.text).toContain('AAA111');
  expect(ma.html).toContain('https://a.example/verify?c=AAA111');
  expect(mb.text).toContain('BBB222');
  expect(smtpA.mails.some((m) => m.to.includes(ub.email!))).toBe(false);
  expect(smtpB.mails.some((m) => m.to.includes(ua.email!))).toBe(false);
});

test('changed SMTP settings apply to the next mail (the cached transport is dropped on the change notice)', async () => {
  const moving = await testInstance(rt, 'Mail Moving');
  // Each settings change is heard twice here: at once, and when Redis echoes it. An echo arriving
  // late would close the new transport under the next mail, so wait until all four are in.
  const allNotices = noticesHeard(rt.deps.changes, moving.instanceId, 4);
  await setSmtpSettings(sys(moving), smtp(smtpA.port, 'first@moving.example'));
  const u = await user(moving);
  await mailer.send(moving.scope, u, { kind: 'passwordReset', code: 'R1', link: 'https://m.example/r', expiresMin: 15 });
  expect((await smtpA.waitFor(u.email!)).from).toBe('first@moving.example');
  await setSmtpSettings(sys(moving), smtp(smtpB.port, 'second@moving.example'));
  await allNotices;
  await mailer.send(moving.scope, u, { kind: 'passwordReset', code: 'R2', link: 'https://m.example/r', expiresMin: 15 });
  expect((await smtpB.waitFor(u.email!)).from).toBe('second@moving.example');
});

test("mails carry the org branding and privacy links, as plain text and HTML, in the user's language", async () => {
  const org = await createOrg(sys(a), { name: `Branded ${newId()}` });
  await setOrgPolicy(sys(a), org.id, 'label', { primaryColor: '#ff6600', disableWatermark: true });
  await setOrgPolicy(sys(a), org.id, 'privacy', { tosLink: 'https://branded.example/tos', privacyLink: 'https://branded.example/privacy' });
  await putLabelAsset(a.scope, org.id, 'logo_light', 'image/png', Buffer.from('89504e47', 'hex'));
  const de = await user(a, { orgId: org.id, lang: 'de' });
  await mailer.send(
    a.scope,
    de,
    { kind: 'passwordReset', code: 'DE1234', link: 'https://a.example/reset', expiresMin: 15 },
    { origin: 'https://auth.a.example' },
  );
  const m = await smtpA.waitFor(de.email!);
  expect(m.subject).toBe('Setze dein Passwort zurück');
  expect(m.text).toContain('Hallo Ada,');
  expect(m.text).toContain('Datenschutzerklärung: https://branded.example/privacy');
  expect(m.text).not.toContain('Tessera');
  expect(m.html).toContain('#ff6600');
  expect(m.html).toContain('href="https://branded.example/tos"');
  expect(m.html).toMatch(new RegExp(`src="https://auth\\.a\\.example/ui/login/branding/${org.id}/logo_light\\?v=\\d+"`));
  expect(m.html).not.toContain('Powered by');

  // The instance default keeps its watermark and colour.
  const en = await user(a);
  await mailer.send(a.scope, en, { kind: 'initialPassword', code: 'INIT99', link: 'https://a.example/init', expiresMin: 60 });
  const m2 = await smtpA.waitFor(en.email!);
  expect(m2.subject).toBe('Your new account');
  expect(m2.text).toContain('INIT99');
  expect(m2.text).toContain('Powered by Tessera');
  expect(m2.html).toContain('#5469d4');
});

test('the password-changed notice is sent only where the notification policy asks for it', async () => {
  const quiet = await createOrg(sys(a), { name: `Quiet ${newId()}` });
  await setOrgPolicy(sys(a), quiet.id, 'notification', { passwordChange: false });
  const loud = await user(a);
  const silent = await user(a, { orgId: quiet.id });
  const notifier = new Notifier(directDelivery(mailer), rt.deps);
  await notifier.passwordChanged(a.scope, silent.id);
  await notifier.passwordChanged(a.scope, loud.id);
  const m = await smtpA.waitFor(loud.email!);
  expect(m.subject).toBe('Your password was changed');
  expect(m.text).toMatch(new RegExp(`The password of your account ${loud.username}@\\S+ was just changed`));
  // No need to wait for a mail that should not come: sending resolves once the SMTP server has
  // taken the mail, and the catcher keeps a mail before it answers, so one would be here already.
  expect(smtpA.mails.some((x) => x.to.includes(silent.email!))).toBe(false);
});

test('an instance without SMTP settings refuses to send with a clear reason', async () => {
  const none = await testInstance(rt, 'No Mail');
  const u = await user(none);
  await expect(mailer.send(none.scope, u, { kind: 'verifyEmail', code: 'x', link: 'y', expiresMin: 1 })).rejects.toMatchObject({
    reason: 'mail.smtp_not_configured',
  });
});

test('one TLS rule for account mails and the Admin API test mail: implicit TLS on 465, else tls demands STARTTLS', async () => {
  // Both build their transport with createSmtpTransport (the test mail of the Admin API and the console through sendTestMail).
  const opts = (port: number, tls: boolean) => {
    const t = createSmtpTransport({ host: '127.0.0.1', port, tls }, rt.deps.outbound);
    const o = (t as unknown as { options: Record<string, unknown> }).options;
    t.close();
    return { secure: o.secure, requireTLS: o.requireTLS, ignoreTLS: o.ignoreTLS };
  };
  expect(opts(465, true)).toEqual({ secure: true, requireTLS: false, ignoreTLS: false });
  expect(opts(587, true)).toEqual({ secure: false, requireTLS: true, ignoreTLS: false });
  expect(opts(25, false)).toEqual({ secure: false, requireTLS: false, ignoreTLS: true });

  // tls on a server without STARTTLS: the account mail is refused, never sent in plain text
  // (api-admin.test.ts shows the test mail refused the same way).
  const strict = await testInstance(rt, 'Strict TLS');
  await setSmtpSettings(sys(strict), { ...smtp(smtpA.port, 'noreply@strict.example'), tls: true });
  const u = await user(strict);
  const before = smtpA.mails.length;
  await expect(mailer.send(strict.scope, u, { kind: 'verifyEmail', code: 'x', link: 'y', expiresMin: 1 })).rejects.toThrow();
  expect(smtpA.mails).toHaveLength(before);
});
