import type { Browser, Page } from 'playwright-core';
import { loginWorld, type LoginWorld } from '../integration/login-support.js';
import { addHuman } from '../support/rp.js';
import { accessibilityProblems, signedInAtAccount, typePassword } from './account-support.js';
import { launchChromium, newJourney } from './browser-support.js';
import { currentStep, totpCodeAt } from '../../src/domain/mfa/service.js';
import { userSignInSessions } from '../../src/domain/session/queries.js';
import { newId } from '../../src/shared/ids.js';

/**
 * Second factors on the account page, in Chromium: adding the authenticator app, new recovery
 * codes and removing the app each send the user through the login again when their sign-in is
 * older than a few minutes; recovery codes are shown once and each signs in once (amr otp).
 */
let w: LoginWorld;
let browser: Browser;
beforeAll(async () => {
  [w, browser] = await Promise.all([loginWorld('Factors', {}, { tld: 'localhost' }), launchChromium()]);
}, 60_000);
afterAll(async () => {
  await browser?.close();
  await w?.close();
});

/** The account page's sign-in is made ten minutes old, as if the user had signed in a while ago. */
async function ageSignIn(userId: string): Promise<void> {
  const tenMinutesAgo = Math.floor(Date.now() / 1000) - 600;
  await w.inst.scope
    .table('ui_sessions')
    .where({ user_id: userId })
    .update({ data: JSON.stringify({ authTime: tenMinutesAgo }) });
}

/** The login asks again: the login name is already filled in, then the password and the second factor. */
async function signInAgain(page: Page, password: string, secondFactor?: string): Promise<void> {
  await page.locator('#loginName').waitFor();
  await page.locator('form[action$="/loginname"] button[type=submit]').click();
  await page.locator('#password').fill(password);
  await page.locator('form[action$="/password"] button[type=submit]').first().click();
  if (secondFactor) {
    await page.locator('#code').fill(secondFactor);
    await page.locator('#code').press('Enter');
  }
}

test('a user adds an authenticator app after signing in again, gets recovery codes, replaces them and removes the app', async () => {
  const u = await addHuman(w.rt, w.inst.scope, w.inst.orgId, { username: `tf${newId()}` });
  const j = await signedInAtAccount(browser, w, 'account-security', u);
  await j.page.getByRole('link', { name: 'Two-factor' }).click();
  await j.page.getByText('No authenticator app is set up.').waitFor();
  expect(await accessibilityProblems(j.page)).toEqual([]);

  await ageSignIn(u.userId);
  await j.page.getByRole('link', { name: 'Set up an authenticator app' }).click();
  expect(await j.page.locator('#loginName').inputValue()).toBe(u.loginName);
  await signInAgain(j.page, u.password);
  await j.page.getByRole('heading', { name: 'Set up an authenticator app' }).waitFor();
  await j.page.getByLabel('Code from the app').fill('000000');
  await j.page.getByRole('button', { name: 'Verify and turn on' }).click();
  await j.page.getByText('That code is not right.').waitFor();
  await j.snap('totp-setup');
  expect(await accessibilityProblems(j.page)).toEqual([]);
  const secret = (await j.page.locator('code.secret').textContent())!.trim();
  const step = currentStep();
  await j.page.getByLabel('Code from the app').fill(totpCodeAt(secret, step));
  await j.page.getByRole('button', { name: 'Verify and turn on' }).click();
  await j.page.getByRole('heading', { name: 'Authenticator app set up' }).waitFor();
  const firstCodes = await j.page.locator('ul.codes code').allTextContents();
  expect(firstCodes).toHaveLength(10);
  await j.snap('recovery-codes');
  expect(await accessibilityProblems(j.page)).toEqual([]);

  // A recovery code signs in once, as a second factor (amr otp); the same code again does not.
  const other = await newJourney(browser, w, 'account-security-recovery');
  await other.page.goto(`${w.issuer}/ui/account`);
  await typePassword(other.page, u);
  await other.page.locator('#code').fill(firstCodes[0]);
  await other.page.locator('#code').press('Enter');
  await other.page.waitForURL((url) => url.pathname === '/ui/account');
  const sessions = await userSignInSessions(w.sys(), u.userId);
  expect(sessions.map((s) => s.amr)).toContainEqual(['pwd', 'otp', 'mfa']);
  await other.close();
  const again = await newJourney(browser, w, 'account-security-reused');
  await again.page.goto(`${w.issuer}/ui/account`);
  await typePassword(again.page, u);
  await again.page.locator('#code').fill(firstCodes[0]);
  await again.page.locator('#code').press('Enter');
  await again.page.locator('#code[aria-invalid="true"], .form-error, [role=alert]').first().waitFor();
  expect(new URL(again.page.url()).pathname).not.toBe('/ui/account');
  await again.close();

  // New recovery codes: sign in again (the app's next code), and the old codes are replaced.
  await j.page.getByRole('link', { name: 'I have saved them' }).click();
  await j.page.getByText('9 unused recovery codes left.').waitFor();
  await ageSignIn(u.userId);
  await j.page.getByRole('link', { name: 'Create new recovery codes' }).click();
  await signInAgain(j.page, u.password, totpCodeAt(secret, step + 1));
  await j.page.getByRole('button', { name: 'Create new recovery codes' }).click();
  await j.page.getByRole('heading', { name: 'New recovery codes' }).waitFor();
  const newCodes = await j.page.locator('ul.codes code').allTextContents();
  expect(newCodes).toHaveLength(10);
  expect(newCodes).not.toContain(firstCodes[1]);
  await j.page.getByRole('link', { name: 'I have saved them' }).click();
  await j.page.getByText('10 unused recovery codes left.').waitFor();

  // Removing the app: sign in again (with a new recovery code this time), confirm.
  await ageSignIn(u.userId);
  await j.page.getByRole('link', { name: 'Remove the authenticator app' }).click();
  await signInAgain(j.page, u.password, newCodes[0]);
  await j.page.getByRole('heading', { name: 'Remove the authenticator app' }).waitFor();
  expect(await accessibilityProblems(j.page)).toEqual([]);
  await j.page.getByRole('button', { name: 'Remove the authenticator app' }).click();
  await j.page.getByText('The authenticator app was removed.').waitFor();
  await j.page.getByText('No authenticator app is set up.').waitFor();
  await j.snap('totp-removed');
  expect(j.consoleErrors.filter((e) => !e.includes('status of 400'))).toEqual([]);
  await j.close();
}, 150_000);
