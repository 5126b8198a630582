import { loginWorld, LoginSession, type LoginWorld } from './login-support.js';
import { addHuman } from '../support/rp.js';
import { getUser } from '../../src/domain/user/repository.js';
import { confirmTotpEnrolment, currentStep, startTotpEnrolment, totpCodeAt } from '../../src/domain/mfa/service.js';
import { newId } from '../../src/shared/ids.js';

/** A login whose user's email is not verified stops at the verification step, as in ZITADEL. */
let w: LoginWorld;
let home: string;
beforeAll(async () => {
  w = await loginWorld('Verify');
  home = (await w.inst.scope.table('org_domains').where({ org_id: w.inst.orgId, is_primary: true }).first()).domain;
});
afterAll(async () => {
  await w.close();
});

async function unverifiedUser() {
  const email = `v${newId()}@mail.example`;
  const u = await addHuman(w.rt, w.inst.scope, w.inst.orgId, { username: `v${newId()}`, email });
  await w.inst.scope.table('users').where({ id: u.userId }).update({ email_verified: false });
  return { ...u, email };
}

const mailsTo = (email: string) => w.smtp.mails.filter((m) => m.to.includes(email));
const codeOf = (text: string) => /^\s{4}([A-Z2-9]{8})$/m.exec(text)![1];

test('an unverified user gets the verification step and no code at the client until the mailed code is entered', async () => {
  const u = await unverifiedUser();
  const s = await new LoginSession(w).start();
  await s.password(`${u.username}@${home}`, u.password);
  expect(s.callback).toBeUndefined();
  expect(s.page.status).toBe(200);
  expect(s.page.body).toContain('Verify your email');
  expect(s.page.body).toContain(u.email);
  const mail = await w.smtp.waitFor(u.email);
  expect(mail.subject).toMatch(/verify/i);
  await s.submit('/verify', { code: 'WRONGCODE' });
  expect(s.page.status).toBe(400);
  expect(s.callback).toBeUndefined();
  expect((await getUser(w.inst.scope, u.userId))!.email_verified).toBe(false);
  await s.submit('/verify', { code: codeOf(mail.text) });
  expect((await s.tokens()).sub).toBe(u.userId);
  expect((await getUser(w.inst.scope, u.userId))!.email_verified).toBe(true);
  // Verified now: the next login finishes at once, and no further mail goes out.
  const again = await new LoginSession(w).start({ prompt: 'login' });
  await again.password(`${u.username}@${home}`, u.password);
  expect((await again.tokens()).sub).toBe(u.userId);
  expect(mailsTo(u.email)).toHaveLength(1);
});

test('a verified user finishes without the verification step and without a mail', async () => {
  const email = `ok${newId()}@mail.example`;
  const u = await addHuman(w.rt, w.inst.scope, w.inst.orgId, { username: `ok${newId()}`, email });
  const s = await new LoginSession(w).start();
  await s.password(`${u.username}@${home}`, u.password);
  expect((await s.tokens()).sub).toBe(u.userId);
  expect(mailsTo(email)).toHaveLength(0);
});

test('the link in the mail, opened in another browser, lets the waiting login continue', async () => {
  const u = await unverifiedUser();
  const s = await new LoginSession(w).start();
  await s.password(`${u.username}@${home}`, u.password);
  const mail = await w.smtp.waitFor(u.email);
  // "I followed the link" before following it: refused, and the login still waits.
  await s.submit('/verify', { code: 'link' });
  expect(s.page.status).toBe(400);
  expect(s.callback).toBeUndefined();
  const link = new URL(/(http:\/\/\S+\/ui\/login\/verify-email\?\S+)/.exec(mail.text)![1]);
  const phone = new LoginSession(w);
  const opened = await phone.browser.request(link);
  expect(opened.status).toBe(200);
  expect(opened.body).toContain('Your email is verified.');
  await s.submit('/verify', { code: 'link' });
  expect((await s.tokens()).sub).toBe(u.userId);
});

test('with TOTP: password, then the code, then email verification, then the client; the second factor is not asked twice', async () => {
  const u = await unverifiedUser();
  const self = { ...w.sys(), actor: { type: 'user' as const, userId: u.userId, orgId: w.inst.orgId, authTime: Math.floor(Date.now() / 1000) } };
  const e = await startTotpEnrolment(self, u.userId, { issuer: 'x', accountName: 'y' });
  const step = currentStep();
  await confirmTotpEnrolment(self, u.userId, totpCodeAt(e.secret, step - 1), (step - 1) * 30_000 + 1);
  const s = await new LoginSession(w).start();
  await s.password(`${u.username}@${home}`, u.password);
  expect(s.page.body).toContain('/mfa"');
  expect(mailsTo(u.email)).toHaveLength(0);
  await s.submit('/mfa', { code: totpCodeAt(e.secret, currentStep()) });
  expect(s.callback).toBeUndefined();
  expect(s.page.body).toContain('Verify your email');
  const mail = await w.smtp.waitFor(u.email);
  await s.submit('/verify', { code: codeOf(mail.text) });
  // Straight back to the client: no second TOTP page after the verification.
  expect((await s.tokens()).sub).toBe(u.userId);
});

test('a wrong password never reaches the verification step', async () => {
  const u = await unverifiedUser();
  const s = await new LoginSession(w).start();
  await s.password(`${u.username}@${home}`, 'Wrong-Passw0rd!');
  expect(s.page.status).toBe(400);
  expect(s.page.body).not.toContain('Verify your email');
  expect(mailsTo(u.email)).toHaveLength(0);
});
