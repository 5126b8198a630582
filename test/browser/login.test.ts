import { loginWorld, LoginSession, type LoginWorld } from '../integration/login-support.js';
import { startUpstream, type Upstream } from './upstream.js';
import { launchChromium, newJourney } from './browser-support.js';
import { addHuman, addOrg } from '../support/rp.js';
import type { Browser } from 'playwright-core';
import { setOrgPolicy } from '../../src/domain/policy/service.js';
import { builtInDefault } from '../../src/domain/policy/schemas.js';
import { createIdp } from '../../src/domain/idp/service.js';
import { putLabelAsset } from '../../src/domain/policy/label-assets.js';
import { getUser } from '../../src/domain/user/repository.js';
import { unlockUser } from '../../src/domain/user/service.js';
import { currentStep, totpCodeAt } from '../../src/domain/mfa/service.js';
import { newId } from '../../src/shared/ids.js';

/** The login journeys in a real browser (Debian's Chromium), with a screenshot of every page. */
let w: LoginWorld;
let browser: Browser;
let up: Upstream;
beforeAll(async () => {
  [w, browser] = await Promise.all([loginWorld('Browser'), launchChromium()]);
  up = await startUpstream([`http://${w.inst.domain}:${w.server.port}/ui/login/idp/callback`]);
}, 60_000);
afterAll(async () => {
  await browser?.close();
  await up?.close();
  await w?.close();
});

async function org(login: object = {}, label?: object) {
  const domain = `b${newId()}.example`;
  const orgId = await addOrg(w.inst.scope, `Org ${domain}`, domain);
  await setOrgPolicy(w.sys(), orgId, 'login', { ...builtInDefault('login'), ...login });
  if (label) await setOrgPolicy(w.sys(), orgId, 'label', label);
  return { orgId, domain };
}

test("login with the org scope, in the org's branding", async () => {
  const o = await org({}, { primaryColor: '#0b7a3e', backgroundColor: '#eef7f1', disableWatermark: true });
  const u = await addHuman(w.rt, w.inst.scope, o.orgId, { username: `ada${newId()}` });
  const j = await newJourney(browser, w, 'org-scope');
  await j.start(`openid urn:zitadel:iam:org:id:${o.orgId}`);
  await j.page.getByLabel('Login name or email').fill(u.username);
  await j.snap('login-name');
  await j.page.getByRole('button', { name: 'Next' }).click();
  await j.page.getByLabel('Password').fill(u.password);
  expect(await j.page.getByRole('button', { name: 'Sign in', exact: true }).evaluate((b) => getComputedStyle(b).backgroundColor)).toBe('rgb(11, 122, 62)');
  await j.snap('password');
  await j.page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await j.page.waitForURL((url) => url.href.startsWith(w.rp.redirectUri));
  await j.snap('back-at-app');
  expect((await j.claims()).sub).toBe(u.userId);
  expect(j.consoleErrors).toEqual([]); // nothing blocked by the content security policy
  await j.close();
}, 60_000);

test("lockout after the policy's attempts, and the throttle after a flood", async () => {
  const o = await org();
  await setOrgPolicy(w.sys(), o.orgId, 'lockout', { maxPasswordAttempts: 3 });
  const u = await addHuman(w.rt, w.inst.scope, o.orgId, { username: `lock${newId()}` });
  const j = await newJourney(browser, w, 'lockout');
  const toPasswordPage = async (loginName: string) => {
    await j.start();
    await j.page.getByLabel('Login name or email').fill(loginName);
    await j.page.getByRole('button', { name: 'Next' }).click();
  };
  const attempt = async (password: string) => {
    await j.page.getByLabel('Password').fill(password);
    await j.page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await j.page.waitForLoadState();
    return j.page.locator('p.error').textContent();
  };
  await toPasswordPage(`${u.username}@${o.domain}`);
  for (let i = 0; i < 3; i++) expect(await attempt('wrong-password')).toBe('Password is invalid.');
  expect(await attempt(u.password)).toBe('Password is invalid.');
  await j.snap('locked-same-message');
  expect((await getUser(w.inst.scope, u.userId))!.state).toBe('locked');
  await unlockUser(w.sys(), u.userId);
  await j.page.getByLabel('Password').fill(u.password);
  await j.page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await j.page.waitForURL((url) => url.href.startsWith(w.rp.redirectUri));

  // Without lockout, a flood of wrong passwords (here from another client) gets the account throttled:
  // even the right password waits, and the page says so.
  const open = await org();
  await setOrgPolicy(w.sys(), open.orgId, 'lockout', { maxPasswordAttempts: 0 });
  const v = await addHuman(w.rt, w.inst.scope, open.orgId, { username: `flood${newId()}` });
  const attacker = await new LoginSession(w).start();
  await attacker.submit('/loginname', { loginName: `${v.username}@${open.domain}` });
  for (let i = 0; i < 10; i++) await attacker.submit('/password', { password: `guess-${i}` });
  expect(attacker.page.status).toBe(400); // the tenth failure itself is still checked
  await j.context.clearCookies(); // another person at this browser: no single sign-on
  await toPasswordPage(`${v.username}@${open.domain}`);
  expect(await attempt(v.password)).toContain('Too many failed attempts');
  await j.snap('throttled');
  await j.close();
}, 60_000);

test('TOTP enrolment when the policy forces MFA, then login with it', async () => {
  const o = await org({ forceMfa: true });
  const u = await addHuman(w.rt, w.inst.scope, o.orgId, { username: `otp${newId()}` });
  const j = await newJourney(browser, w, 'totp');
  const signIn = async () => {
    await j.start();
    await j.page.getByLabel('Login name or email').fill(`${u.username}@${o.domain}`);
    await j.page.getByRole('button', { name: 'Next' }).click();
    await j.page.getByLabel('Password').fill(u.password);
    await j.page.getByRole('button', { name: 'Sign in', exact: true }).click();
  };
  await signIn();
  await j.page.locator('img.qr').waitFor();
  const secret = (await j.page.locator('#secret').textContent())!;
  await j.snap('enrol');
  const step = currentStep();
  await j.page.getByLabel('Code from your authenticator app').fill(totpCodeAt(secret, step));
  await j.page.getByRole('button', { name: 'Verify' }).click();
  await j.page.locator('ul.codes li').first().waitFor();
  await j.snap('recovery-codes');
  await j.page.getByRole('button', { name: 'Continue' }).click();
  await j.page.waitForURL((url) => url.href.startsWith(w.rp.redirectUri));
  await j.context.clearCookies();

  await signIn();
  await j.page.getByLabel('Code from your authenticator app').fill(totpCodeAt(secret, step)); // used already
  await j.page.getByRole('button', { name: 'Verify' }).click();
  expect(await j.page.locator('p.error').textContent()).toBe('The code is wrong or was already used.');
  await j.snap('replayed-code');
  await j.page.getByLabel('Code from your authenticator app').fill(totpCodeAt(secret, step + 1));
  await j.page.getByRole('button', { name: 'Verify' }).click();
  await j.page.waitForURL((url) => url.href.startsWith(w.rp.redirectUri));
  expect((await j.claims()).sub).toBe(u.userId);
  await j.close();
}, 60_000);

test('registration with email verification, then a password reset', async () => {
  const o = await org({ allowRegister: true });
  await setOrgPolicy(w.sys(), o.orgId, 'privacy', { ...builtInDefault('privacy'), tosLink: 'https://b.example/tos', privacyLink: 'https://b.example/privacy' });
  const j = await newJourney(browser, w, 'register-reset', { locale: 'de-DE' });
  await j.start(`openid urn:zitadel:iam:org:id:${o.orgId}`);
  await j.snap('login-de');
  await j.page.getByRole('link', { name: 'Konto erstellen' }).click();
  const email = `new${newId()}@mail.example`;
  const username = `neu${newId()}`;
  await j.page.getByLabel('Vorname').fill('Nora');
  await j.page.getByLabel('Nachname').fill('Neu');
  await j.page.getByLabel('E-Mail').fill(email);
  await j.page.getByLabel('Benutzername').fill(username);
  await j.page.getByLabel('Passwort', { exact: true }).fill('Gutes-Passw0rt');
  await j.page.getByLabel('Passwort wiederholen').fill('Gutes-Passw0rt');
  await j.page.locator('#acceptTerms').check();
  await j.snap('register');
  await j.page.getByRole('button', { name: 'Konto erstellen' }).click();
  await j.page.getByLabel('Code').waitFor();
  await j.snap('verify');
  const mail = await w.smtp.waitFor(email);
  const code = /^\s{4}([A-Z2-9]{8})$/m.exec(mail.text)![1];
  await j.page.getByLabel('Code').fill(code);
  await j.page.getByRole('button', { name: 'Bestätigen' }).click();
  await j.page.waitForURL((url) => url.href.startsWith(w.rp.redirectUri));
  const claims = await j.claims();
  expect(await getUser(w.inst.scope, claims.sub)).toMatchObject({ org_id: o.orgId, email_verified: true });
  await j.context.clearCookies();

  // The same person forgets the password.
  await j.start(`openid urn:zitadel:iam:org:id:${o.orgId}`);
  await j.page.getByLabel('Loginname oder E-Mail').fill(username);
  await j.page.getByRole('button', { name: 'Weiter' }).click();
  await j.page.getByRole('link', { name: 'Passwort vergessen?' }).click();
  await j.page.getByLabel('Loginname oder E-Mail').fill(`${username}@${o.domain}`);
  await j.page.getByRole('button', { name: 'Weiter' }).click();
  const reset = await w.smtp.waitFor(email, (m) => m.subject === 'Setze dein Passwort zurück');
  await j.page.getByLabel('Code').fill(/^\s{4}([A-Z2-9]{8})$/m.exec(reset.text)![1]);
  await j.page.getByLabel('Neues Passwort').fill('Neues-Passw0rt');
  await j.snap('reset');
  await j.page.getByRole('button', { name: 'Passwort setzen' }).click();
  await j.page.getByText('Dein Passwort wurde geändert').waitFor();
  await j.snap('reset-done');
  await j.page.getByRole('link', { name: 'Anmelden' }).click();
  await j.page.getByLabel('Loginname oder E-Mail').fill(username);
  await j.page.getByRole('button', { name: 'Weiter' }).click();
  await j.page.getByLabel('Passwort').fill('Neues-Passw0rt');
  await j.page.getByRole('button', { name: 'Anmelden', exact: true }).click();
  await j.page.waitForURL((url) => url.href.startsWith(w.rp.redirectUri));
  await j.close();
}, 60_000);

test('domain discovery into an org with an external IdP, with JIT creation', async () => {
  const o = await org();
  const { id: idpId } = await createIdp(w.sys(), {
    orgId: o.orgId,
    name: 'Contoso Entra ID',
    issuer: up.issuer,
    clientId: up.clientId,
    clientSecret: up.clientSecret,
    isAutoCreation: true,
  });
  await setOrgPolicy(w.sys(), o.orgId, 'login', { ...builtInDefault('login'), allowUsernamePassword: false, allowExternalIdp: true, idpIds: [idpId] });
  const sub = `entra-${newId()}`;
  up.accounts.set(sub, { email: `grace@${o.domain}`, email_verified: true, given_name: 'Grace', family_name: 'Hopper' });
  const j = await newJourney(browser, w, 'discovery-idp');
  await j.start();
  await j.page.getByLabel('Login name or email').fill(`grace@${o.domain}`);
  await j.snap('login-name');
  await j.page.getByRole('button', { name: 'Next' }).click();
  await j.page.waitForURL((url) => url.origin === up.issuer);
  await j.snap('upstream-login');
  await j.page.locator('input[name=login]').fill(sub);
  await j.page.locator('input[name=password]').fill('anything');
  await j.page.locator('button[type=submit]').first().click();
  await j.page.waitForLoadState();
  if (new URL(j.page.url()).origin === up.issuer) {
    await j.snap('upstream-consent');
    await j.page.locator('button[type=submit]').first().click();
  }
  await j.page.waitForURL((url) => url.href.startsWith(w.rp.redirectUri));
  const user = (await getUser(w.inst.scope, (await j.claims()).sub))!;
  expect(user).toMatchObject({ org_id: o.orgId, email: `grace@${o.domain}`, given_name: 'Grace' });
  await j.close();
}, 60_000);

test('the branding of two orgs side by side', async () => {
  const logo = (fill: string) =>
    Buffer.from(`<svg xmlns="http://www.w3.org/2000/svg" width="160" height="40"><rect width="160" height="40" rx="8" fill="${fill}"/></svg>`);
  const acme = await org({ allowRegister: true }, { primaryColor: '#c2410c', backgroundColor: '#fff7ed', fontColor: '#431407', disableWatermark: true });
  const globex = await org({}, { primaryColor: '#1d4ed8', backgroundColor: '#eff6ff', fontColor: '#172554', hideLoginNameSuffix: true });
  await putLabelAsset(w.inst.scope, acme.orgId, 'logo_light', 'image/svg+xml', logo('#c2410c'));
  await putLabelAsset(w.inst.scope, globex.orgId, 'logo_light', 'image/svg+xml', logo('#1d4ed8'));
  const colours: Record<string, string> = {};
  for (const [name, o] of Object.entries({ acme, globex })) {
    const j = await newJourney(browser, w, `branding-${name}`);
    await j.start(`openid urn:zitadel:iam:org:id:${o.orgId}`);
    await j.page.locator('img.logo').waitFor();
    expect(await j.page.locator('img.logo').evaluate((img: HTMLImageElement) => img.naturalWidth)).toBeGreaterThan(0);
    colours[name] = await j.page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    await j.snap('login');
    await j.close();
  }
  expect(colours).toEqual({ acme: 'rgb(255, 247, 237)', globex: 'rgb(239, 246, 255)' });
}, 60_000);
