import { loginWorld, LoginSession, type LoginWorld } from './login-support.js';
import { addHuman, addOrg } from '../support/rp.js';
import { setOrgPolicy, setInstancePolicy } from '../../src/domain/policy/service.js';
import { builtInDefault } from '../../src/domain/policy/schemas.js';
import { getUser } from '../../src/domain/user/repository.js';
import { unlockUser } from '../../src/domain/user/service.js';
import { confirmTotpEnrolment, currentStep, startTotpEnrolment, totpCodeAt } from '../../src/domain/mfa/service.js';
import { newId } from '../../src/shared/ids.js';
import { insertPasskey } from '../../src/domain/passkey/repository.js';
import { listEvents } from '../../src/domain/audit/repository.js';

let w: LoginWorld;
let home: string; // the default org's primary domain: login names are username@domain
beforeAll(async () => {
  w = await loginWorld('Flow');
  home = (await w.inst.scope.table('org_domains').where({ org_id: w.inst.orgId, is_primary: true }).first()).domain;
});
afterAll(async () => {
  await w.close();
});

const session = () => new LoginSession(w);
async function org(login?: object) {
  const domain = `o${newId()}.example`;
  const orgId = await addOrg(w.inst.scope, `Org ${domain}`, domain);
  if (login) await setOrgPolicy(w.sys(), orgId, 'login', login);
  return { orgId, domain };
}

describe('the org scope', () => {
  test("only that org's users can finish; a bare username is completed with its domain; login_hint cannot get around it", async () => {
    const a = await org();
    const b = await org();
    const alice = await addHuman(w.rt, w.inst.scope, a.orgId, { username: `alice${newId()}` });
    const bob = await addHuman(w.rt, w.inst.scope, b.orgId, { username: `bob${newId()}` });
    const scope = `openid urn:zitadel:iam:org:id:${a.orgId}`;

    const ok = await session().start({}, scope);
    await ok.password(alice.username, alice.password);
    expect((await ok.tokens()).sub).toBe(alice.userId);

    const refused = await session().start({ login_hint: `${bob.username}@${b.domain}` }, scope);
    expect(refused.page.body).toContain(`value="${bob.username}@${b.domain}"`);
    await refused.submit('/loginname');
    expect(refused.page.status).toBe(400);
    expect(refused.page.body).toContain('User could not be found.');
    expect(refused.page.body).not.toContain('name="password"');
  });

  test('an unknown org in the scope shows an error page, in the asked language', async () => {
    const s = await session().start({}, 'openid urn:zitadel:iam:org:id:123456789');
    expect(s.page.status).toBe(400);
    expect(s.page.body).toContain('login.unknown_org');
    const de = await session().start({ ui_locales: 'de' }, 'openid urn:zitadel:iam:org:id:123456789');
    expect(de.page.body).toContain('Die angefragte Organisation existiert nicht.');
    expect(de.page.body).toContain('<html lang="de">');
  });
});

describe('login policy', () => {
  test('ignoreUnknownUsernames: an unknown user gets a password page and the same failure as a wrong password', async () => {
    const o = await org({ ignoreUnknownUsernames: true });
    const known = await addHuman(w.rt, w.inst.scope, o.orgId, { username: `k${newId()}` });
    const scope = `openid urn:zitadel:iam:org:id:${o.orgId}`;
    const unknown = await session().start({}, scope);
    await unknown.submit('/loginname', { loginName: 'nobody-here' });
    expect(unknown.page.status).toBe(200);
    await unknown.submit('/password', { password: 'whatever' });
    const wrong = await session().start({}, scope);
    await wrong.password(known.username, 'wrong-password');
    expect(unknown.page.status).toBe(wrong.page.status);
    const error = (body: string) => /<p class="error"[^>]*>([^<]*)</.exec(body)?.[1];
    expect(error(unknown.page.body)).toBe('Password is invalid.');
    expect(error(unknown.page.body)).toBe(error(wrong.page.body));
  });

  test('allowUsernamePassword false: no password form; hidePasswordReset hides the link; allowRegister shows one', async () => {
    const closed = await org({ allowUsernamePassword: false });
    const s = await session().start({}, `openid urn:zitadel:iam:org:id:${closed.orgId}`);
    expect(s.page.body).not.toContain('/loginname');
    const u = await addHuman(w.rt, w.inst.scope, closed.orgId);
    const viaPost = await session().start({}, `openid urn:zitadel:iam:org:id:${closed.orgId}`);
    const form = await viaPost.browser.request(new URL(`${viaPost.page.url.pathname}/password`, viaPost.page.url), {
      form: { csrf: /name="csrf" value="([^"]+)"/.exec(viaPost.page.body)![1], loginName: u.username, password: u.password },
    });
    expect(form.status).toBe(400);
    expect(form.body).toContain('not allowed');

    const open = await org({ allowRegister: true, hidePasswordReset: true });
    const u2 = await addHuman(w.rt, w.inst.scope, open.orgId);
    const s2 = await session().start({}, `openid urn:zitadel:iam:org:id:${open.orgId}`);
    expect(s2.page.body).toContain('/register"');
    await s2.submit('/loginname', { loginName: u2.username });
    expect(s2.page.body).toContain('name="password"');
    expect(s2.page.body).not.toContain('/reset"');
  });

  test('disableLoginWithEmail refuses the email as a login name, the username still works', async () => {
    const o = await org({ disableLoginWithEmail: true });
    const u = await addHuman(w.rt, w.inst.scope, o.orgId, { username: `e${newId()}`, email: `mail${newId()}@elsewhere.example` });
    const byEmail = await session().start();
    await byEmail.submit('/loginname', { loginName: (await getUser(w.inst.scope, u.userId))!.email! });
    expect(byEmail.page.body).toContain('User could not be found.');
    const byName = await session().start();
    await byName.password(`${u.username}@${o.domain}`, u.password);
    expect((await byName.tokens()).sub).toBe(u.userId);
  });
});

describe('lockout', () => {
  test('after maxPasswordAttempts the right password fails like a wrong one, until an admin unlocks', async () => {
    const o = await org();
    await setOrgPolicy(w.sys(), o.orgId, 'lockout', { maxPasswordAttempts: 2 });
    const u = await addHuman(w.rt, w.inst.scope, o.orgId, { username: `l${newId()}` });
    const name = `${u.username}@${o.domain}`;
    for (let i = 0; i < 2; i++) await (await session().start()).password(name, 'wrong');
    const locked = await session().start();
    await locked.password(name, u.password);
    expect(locked.page.status).toBe(400);
    expect(locked.page.body).toContain('Password is invalid.');
    expect((await getUser(w.inst.scope, u.userId))!.state).toBe('locked');
    await unlockUser(w.sys(), u.userId);
    const again = await session().start();
    await again.password(name, u.password);
    expect((await again.tokens()).sub).toBe(u.userId);
  });
});

describe('second factor', () => {
  test('a user with TOTP must give a code; a wrong one is refused, the right one finishes', async () => {
    const u = await addHuman(w.rt, w.inst.scope, w.inst.orgId, { username: `t${newId()}` });
    const self = { ...w.sys(), actor: { type: 'user' as const, userId: u.userId, orgId: w.inst.orgId, authTime: Math.floor(Date.now() / 1000) } };
    const e = await startTotpEnrolment(self, u.userId, { issuer: 'x', accountName: 'y' });
    const step = currentStep();
    await confirmTotpEnrolment(self, u.userId, totpCodeAt(e.secret, step - 1), (step - 1) * 30_000 + 1);
    const s = await session().start();
    await s.password(`${u.username}@${home}`, u.password);
    expect(s.page.body).toContain('/mfa"');
    await s.submit('/mfa', { code: totpCodeAt(e.secret, step) === '000000' ? '111111' : '000000' });
    expect(s.page.status).toBe(400);
    await s.submit('/mfa', { code: totpCodeAt(e.secret, currentStep()) });
    expect((await s.tokens()).sub).toBe(u.userId);
  });

  test('a passkey is a second factor only on its own domain: elsewhere the password finishes, here the passkey is asked', async () => {
    const u = await addHuman(w.rt, w.inst.scope, w.inst.orgId, { username: `pk${newId()}` });
    const passkey = (rpId: string) =>
      insertPasskey(w.inst.scope, {
        id: newId(),
        user_id: u.userId,
        credential_id: `cred-${newId()}`,
        public_key: Buffer.from('not used'),
        sign_count: 0,
        backup_eligible: false,
        backed_up: false,
        transports: [],
        aaguid: null,
        rp_id: rpId,
        name: rpId,
      });
    await passkey(`elsewhere.${w.inst.domain}`);
    const elsewhere = await session().start();
    await elsewhere.password(`${u.username}@${home}`, u.password);
    expect(elsewhere.page.body).not.toContain('/mfa');
    expect((await elsewhere.tokens()).sub).toBe(u.userId);
    await passkey(w.inst.domain);
    const here = await session().start();
    await here.password(`${u.username}@${home}`, u.password);
    expect(here.page.body).toContain('action="/ui/login/');
    expect(here.page.body).toContain('/mfa/passkey"');
  });

  test('forceMfa: a user without a factor enrols (QR code and key), sees recovery codes, then finishes', async () => {
    const o = await org({ forceMfa: true });
    const u = await addHuman(w.rt, w.inst.scope, o.orgId, { username: `f${newId()}` });
    const s = await session().start();
    await s.password(`${u.username}@${o.domain}`, u.password);
    expect(s.page.body).toContain('src="data:image/png;base64,');
    const secret = /<code id="secret">([A-Z2-7]+)<\/code>/.exec(s.page.body)![1];
    await s.submit('/mfa/setup', { code: totpCodeAt(secret, currentStep()) });
    expect(s.page.body).toMatch(/<li>[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}<\/li>/);
    await s.submit('/mfa/done');
    expect((await s.tokens()).sub).toBe(u.userId);
  });
});

test('a user may choose TOTP on the password page, and is not asked otherwise', async () => {
  const u = await addHuman(w.rt, w.inst.scope, w.inst.orgId, { username: `ch${newId()}` });
  const plain = await session().start();
  await plain.submit('/loginname', { loginName: `${u.username}@${home}` });
  expect(plain.page.body).toContain('name="setupMfa" value="yes"');
  await plain.submit('/password', { password: u.password });
  expect((await plain.tokens()).sub).toBe(u.userId);
  const choosing = await session().start();
  await choosing.submit('/loginname', { loginName: `${u.username}@${home}` });
  await choosing.submit('/password', { password: u.password, setupMfa: 'yes' });
  const secret = /<code id="secret">([A-Z2-7]+)<\/code>/.exec(choosing.page.body)![1];
  await choosing.submit('/mfa/setup', { code: totpCodeAt(secret, currentStep()) });
  await choosing.submit('/mfa/done');
  expect((await choosing.tokens()).sub).toBe(u.userId);
  const next = await session().start();
  await next.password(`${u.username}@${home}`, u.password);
  expect(next.page.body).toContain('/mfa"');
});

describe('journeys with mail', () => {
  test('registration with email verification by code, into the org of the scope, in German', async () => {
    const o = await org({ allowRegister: true });
    await setOrgPolicy(w.sys(), o.orgId, 'privacy', { ...builtInDefault('privacy'), privacyLink: 'https://o.example/privacy' });
    const s = await session().start({ ui_locales: 'de' }, `openid urn:zitadel:iam:org:id:${o.orgId}`);
    await s.get(`${s.page.url.pathname}/register`);
    expect(s.page.body).toContain('Konto erstellen');
    expect(s.page.body).toContain('https://o.example/privacy');
    const email = `reg${newId()}@mail.example`;
    const fields = { givenName: 'Rita', familyName: 'Reg', email, username: `rita${newId()}`, password: 'short', passwordConfirm: 'short', acceptTerms: 'yes' };
    await s.submit('/register', fields);
    expect(s.page.status).toBe(400);
    expect(s.page.body).toContain('Verwende mindestens 8 Zeichen.');
    expect(s.page.body).toContain('Verwende einen Großbuchstaben.');
    await s.submit('/register', { ...fields, password: 'Good-Passw0rd', passwordConfirm: 'Good-Passw0rd' });
    expect(s.page.body).toContain(email);
    const mail = await w.smtp.waitFor(email);
    expect(mail.subject).toBe('Bestätige deine E-Mail-Adresse');
    const code = /^\s{4}([A-Z2-9]{8})$/m.exec(mail.text)![1];
    await s.submit('/verify', { code: 'WRONGCODE' });
    expect(s.page.status).toBe(400);
    await s.submit('/verify', { code });
    const claims = await s.tokens();
    const user = (await getUser(w.inst.scope, claims.sub))!;
    expect(user).toMatchObject({ org_id: o.orgId, email, email_verified: true, state: 'active' });
  });

  test('password reset by mail, then a password-changed notice', async () => {
    const u = await addHuman(w.rt, w.inst.scope, w.inst.orgId, { username: `r${newId()}`, email: `reset${newId()}@mail.example` });
    const s = await session().start();
    await s.submit('/loginname', { loginName: `${u.username}@${home}` });
    await s.get(`/ui/login/${s.page.url.pathname.split('/')[3]}/reset`);
    await s.submit('/reset', { loginName: `${u.username}@${home}` });
    const mail = await w.smtp.waitFor((await getUser(w.inst.scope, u.userId))!.email!);
    expect(mail.subject).toBe('Reset your password');
    const code = /^\s{4}([A-Z2-9]{8})$/m.exec(mail.text)![1];
    await s.submit('/reset/confirm', { code, password: 'weak' });
    expect(s.page.body).toContain('Use at least 8 characters.');
    await s.submit('/reset/confirm', { code, password: 'New-Passw0rd-1' });
    expect(s.page.body).toContain('Your password was changed');
    const notice = await w.smtp.waitFor((await getUser(w.inst.scope, u.userId))!.email!, (m) => m.subject === 'Your password was changed');
    expect(notice.text).toContain('was just changed');
    const again = await session().start();
    await again.password(`${u.username}@${home}`, 'New-Passw0rd-1');
    expect((await again.tokens()).sub).toBe(u.userId);
  });
});

test('a flood of reset requests sends one mail a minute per account, and unknown names look the same', async () => {
  const u = await addHuman(w.rt, w.inst.scope, w.inst.orgId, { username: `fl${newId()}`, email: `flood${newId()}@mail.example` });
  const email = (await getUser(w.inst.scope, u.userId))!.email!;
  const s = await session().start();
  await s.get(`${s.page.url.pathname}/reset`);
  for (let i = 0; i < 5; i++) {
    await s.get(`/ui/login/${s.page.url.pathname.split('/')[3]}/reset`);
    await s.submit('/reset', { loginName: `${u.username}@${home}` });
    expect(s.page.body).toContain('If the account exists');
  }
  await s.get(`/ui/login/${s.page.url.pathname.split('/')[3]}/reset`);
  await s.submit('/reset', { loginName: 'nobody@nowhere.example' });
  expect(s.page.status).toBe(200);
  expect(s.page.body).toContain('If the account exists');
  // The last request is for another account: mails leave in the order they are asked for, so
  // once its mail is here, every mail the flood caused is here too.
  const last = await addHuman(w.rt, w.inst.scope, w.inst.orgId, { username: `fl${newId()}`, email: `last${newId()}@mail.example` });
  await s.get(`/ui/login/${s.page.url.pathname.split('/')[3]}/reset`);
  await s.submit('/reset', { loginName: `${last.username}@${home}` });
  await w.smtp.waitFor((await getUser(w.inst.scope, last.userId))!.email!);
  expect(w.smtp.mails.filter((m) => m.to.includes(email))).toHaveLength(1);
});

test('the reset link in the mail works in another browser', async () => {
  const u = await addHuman(w.rt, w.inst.scope, w.inst.orgId, { username: `rl${newId()}`, email: `link${newId()}@mail.example` });
  const email = (await getUser(w.inst.scope, u.userId))!.email!;
  const s = await session().start();
  await s.get(`${s.page.url.pathname}/reset`);
  await s.submit('/reset', { loginName: `${u.username}@${home}` });
  const mail = await w.smtp.waitFor(email);
  const link = new URL(/(http:\/\/\S+\/ui\/login\/password-reset\?\S+)/.exec(mail.text)![1]);
  const phone = new LoginSession(w); // another browser: no interaction cookie
  expect((await phone.browser.request(link)).status).toBe(200);
  const done = await phone.browser.request(new URL('/ui/login/password-reset', link), {
    form: { user: u.userId, code: link.searchParams.get('code')!, password: 'From-Ph0ne-Link', passwordConfirm: 'From-Ph0ne-Link' },
  });
  expect(done.body).toContain('Your password was changed');
  await w.smtp.waitFor(email, (m) => m.subject === 'Your password was changed');
  const again = await session().start();
  await again.password(`${u.username}@${home}`, 'From-Ph0ne-Link');
  expect((await again.tokens()).sub).toBe(u.userId);
});

describe('page security and branding', () => {
  test('login pages forbid framing and inline script; forms without the CSRF token are refused', async () => {
    const s = await session().start();
    expect(s.page.headers['content-security-policy']).toMatch(/frame-ancestors 'none'/);
    // Scripts only from the page's own origin (the passkey ceremonies' static files), never inline.
    expect(s.page.headers['content-security-policy']).toMatch(/script-src 'self';/);
    expect(s.page.headers['content-security-policy']).not.toMatch(/unsafe-inline|unsafe-eval/);
    expect(s.page.headers['x-frame-options']).toBe('DENY');
    // No inline script: the only script elements load the passkey ceremonies' static files.
    expect(
      s.page.body.match(/<script[^>]*>[^<]*<\/script>/gi)?.every((tag) => /^<script src="\/ui\/login\/assets\/(webauthn|passkey)\.js"><\/script>$/.test(tag)) ??
        true,
    ).toBe(true);
    const res = await s.browser.request(new URL(`${s.page.url.pathname}/loginname`, s.page.url), { form: { loginName: 'x' } });
    expect(res.status).toBe(403);
  });

  test("the org scope's label policy styles the page", async () => {
    const o = await org();
    await setOrgPolicy(w.sys(), o.orgId, 'label', { primaryColor: '#123456', disableWatermark: true });
    const s = await session().start({}, `openid urn:zitadel:iam:org:id:${o.orgId}`);
    const theme = /<link rel="stylesheet" href="([^"]+theme\.css[^"]*)"/.exec(s.page.body)![1];
    expect(theme).toContain(`/ui/login/branding/${o.orgId}/theme.css`);
    expect(s.page.body).not.toContain('Powered by Tessera');
    const css = await s.browser.request(new URL(theme.replace(/&amp;/g, '&'), s.page.url));
    expect(css.headers['content-type']).toMatch(/text\/css/);
    expect(css.body).toContain('--color-primary: #123456;');
    const plain = await session().start();
    expect(plain.page.body).toContain('Powered by Tessera');
    await setInstancePolicy(w.sys(), 'label', builtInDefault('label'));
  });
});

describe('mail links outside a login', () => {
  test('an admin-created user sets the initial password through the mailed code', async () => {
    const { createHumanUser } = await import('../../src/domain/user/service.js');
    const email = `invited${newId()}@mail.example`;
    const { id } = await createHumanUser(w.sys(), { orgId: w.inst.orgId, username: `inv${newId()}`, email });
    expect((await getUser(w.inst.scope, id))!.state).toBe('initial');
    await w.notifier.initialPassword(w.inst.scope, id, w.issuer);
    const mail = await w.smtp.waitFor(email);
    expect(mail.subject).toBe('Your new account');
    const link = new URL(/(http:\/\/\S+\/ui\/login\/init\?\S+)/.exec(mail.text)![1]);
    const s = new LoginSession(w);
    const page = await s.browser.request(link);
    expect(page.status).toBe(200);
    // Titled as an invitation, in the look of the user's org, with a confirmation field.
    expect(page.body).toContain('<title>You are invited: set your password');
    expect(page.body).toMatch(/\/ui\/login\/branding\/[^"]+\/theme\.css/);
    expect(page.body).toContain('name="passwordConfirm"');
    const differ = await s.browser.request(new URL('/ui/login/init', link), {
      form: { user: id, code: link.searchParams.get('code')!, password: 'Initial-Passw0rd', passwordConfirm: 'Initial-Passw0rd-typo' },
    });
    expect(differ.status).toBe(400);
    expect(differ.body).toContain('The passwords do not match.');
    const weak = await s.browser.request(new URL('/ui/login/init', link), {
      form: { user: id, code: link.searchParams.get('code')!, password: 'short', passwordConfirm: 'short' },
    });
    expect(weak.status).toBe(400);
    const forged = await s.browser.request(new URL('/ui/login/init', link), {
      form: { user: id, code: 'NOTACODE', password: 'Initial-Passw0rd', passwordConfirm: 'Initial-Passw0rd' },
    });
    expect(forged.status).toBe(400);
    const invitingOrg = await org();
    await setOrgPolicy(w.sys(), invitingOrg.orgId, 'login', { ...builtInDefault('login'), defaultRedirectUri: 'https://portal.example/start' });
    await w.inst.scope.table('users').where({ id }).update({ org_id: invitingOrg.orgId });
    const ok = await s.browser.request(new URL('/ui/login/init', link), {
      form: { user: id, code: link.searchParams.get('code')!, password: 'Initial-Passw0rd', passwordConfirm: 'Initial-Passw0rd' },
    });
    expect(ok.status).toBe(200);
    expect(ok.body).toContain('Your account is ready.');
    expect(ok.body).toContain('href="https://portal.example/start"');
    expect(await getUser(w.inst.scope, id)).toMatchObject({ state: 'active', email_verified: true });
    // Every write of the journey is in the audit trail, the verified address included.
    const trail = (await listEvents(w.inst.scope, { resourceId: id })).map((e) => e.type);
    expect(trail).toEqual(
      expect.arrayContaining(['user.code.added', 'user.code.check.failed', 'user.code.used', 'user.password.changed', 'user.email.verified']),
    );
  });
});

describe('account chooser', () => {
  test('prompt=select_account lists the accounts of this browser; the current one continues, another one asks for its password', async () => {
    const a = await addHuman(w.rt, w.inst.scope, w.inst.orgId, { username: `ca${newId()}`, givenName: 'Anna' });
    const b = await addHuman(w.rt, w.inst.scope, w.inst.orgId, { username: `cb${newId()}`, givenName: 'Bert' });
    const first = await session().start();
    await first.password(`${a.username}@${home}`, a.password);
    expect((await first.tokens()).sub).toBe(a.userId);

    const chooser = await new LoginSession(w, first.browser).start({ prompt: 'select_account' });
    expect(chooser.page.body).toContain(`data-account="${a.userId}"`);
    await chooser.submit('/select', { accountId: a.userId });
    expect((await chooser.tokens()).sub).toBe(a.userId);

    const other = await new LoginSession(w, first.browser).start({ prompt: 'select_account' });
    await other.get(`${other.page.url.pathname}/other`);
    await other.password(`${b.username}@${home}`, b.password);
    // oidc-provider ends A's session before B's begins (a self-submitting form, with a button without JS).
    if (!other.callback && other.page.body.includes('/session/end/confirm')) await other.submitFirst();
    expect((await other.tokens()).sub).toBe(b.userId);

    const back = await new LoginSession(w, first.browser).start({ prompt: 'select_account' });
    expect(back.page.body).toContain(`data-account="${a.userId}"`);
    expect(back.page.body).toContain(`data-account="${b.userId}"`);
    await back.submit('/select', { accountId: a.userId });
    expect(back.page.body).toContain('name="password"');
    await back.submit('/password', { password: a.password });
    if (!back.callback && back.page.body.includes('/session/end/confirm')) await back.submitFirst();
    expect((await back.tokens()).sub).toBe(a.userId);
  });
});

describe('check lifetimes', () => {
  test('a session younger than passwordCheckLifetime signs in again without a page; an expired check asks again', async () => {
    const relaxed = await addHuman(w.rt, w.inst.scope, w.inst.orgId, { username: `sso${newId()}` });
    const s = await session().start();
    await s.password(`${relaxed.username}@${home}`, relaxed.password);
    await s.tokens();
    const sso = await new LoginSession(w, s.browser).start();
    expect((await sso.tokens()).sub).toBe(relaxed.userId);

    const strict = await org();
    await setOrgPolicy(w.sys(), strict.orgId, 'login', { ...builtInDefault('login'), passwordCheckLifetimeS: 0 });
    const u = await addHuman(w.rt, w.inst.scope, strict.orgId, { username: `strict${newId()}` });
    const t = await session().start();
    await t.password(`${u.username}@${strict.domain}`, u.password);
    await t.tokens();
    const again = await new LoginSession(w, t.browser).start();
    expect(again.callback).toBeUndefined();
    expect(again.page.body).toContain('/loginname');
  });
});
