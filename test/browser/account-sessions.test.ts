import type { Browser } from 'playwright-core';
import { loginWorld, type LoginWorld } from '../integration/login-support.js';
import { addHuman, client, login } from '../support/rp.js';
import { accessibilityProblems, signedInAtAccount } from './account-support.js';
import { launchChromium } from './browser-support.js';
import { userSignInSessions } from '../../src/domain/session/queries.js';
import { newId } from '../../src/shared/ids.js';

/**
 * The sessions on the account page, in Chromium: each browser the user signed in with, by device
 * and time; ending another one signs it out and stops its application's refresh token; "sign out
 * everywhere" ends every session, this browser's too.
 */
let w: LoginWorld;
let browser: Browser;
beforeAll(async () => {
  [w, browser] = await Promise.all([loginWorld('Devices', {}, { tld: 'localhost' }), launchChromium()]);
}, 60_000);
afterAll(async () => {
  await browser?.close();
  await w?.close();
});

test('a user sees their sessions by device, ends one elsewhere, then signs out everywhere', async () => {
  const u = await addHuman(w.rt, w.inst.scope, w.inst.orgId, { username: `ses${newId()}` });
  // An application signed in without a browser we know: it sends no user agent.
  const { tokens } = await login(w.config, w.rp, { loginName: u.loginName, password: u.password, scope: 'openid profile offline_access' });
  const laptop = await signedInAtAccount(browser, w, 'account-sessions', u);
  const phone = await signedInAtAccount(browser, w, 'account-sessions-other', u);

  await laptop.page.getByRole('link', { name: 'Sessions' }).click();
  const rows = laptop.page.locator('ul.sessions li');
  await rows.first().waitFor();
  expect(await rows.count()).toBe(3);
  await expect(rows.first().textContent()).resolves.toContain('this browser');
  const devices = await rows.locator('strong').allTextContents();
  expect(devices.sort()).toEqual(['Chrome on Linux', 'Chrome on Linux', 'Unknown browser']);
  expect(await rows.locator('.badge').count()).toBe(1); // "this browser"
  await laptop.snap('sessions');
  expect(await accessibilityProblems(laptop.page)).toEqual([]);

  // The application's session: its refresh token stops working.
  await laptop.page.getByRole('button', { name: /^End session \(Unknown browser/ }).click();
  await laptop.page.getByText('Session ended. That browser has to sign in again.').waitFor();
  await expect(client.refreshTokenGrant(w.config, tokens.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });

  // The other browser's session: it is signed out of the account page.
  await laptop.page.getByRole('button', { name: /^End session \(Chrome on Linux/ }).click();
  await laptop.page.getByText('Session ended. That browser has to sign in again.').waitFor();
  expect(await rows.count()).toBe(1);
  await phone.page.goto(`${w.issuer}/ui/account`);
  await phone.page.locator('#loginName').waitFor();

  await laptop.page.getByRole('button', { name: 'Sign out everywhere' }).click();
  await laptop.page.getByRole('heading', { name: 'Signed out' }).waitFor();
  expect(await userSignInSessions(w.sys(), u.userId)).toEqual([]);
  await laptop.page.goto(`${w.issuer}/ui/account/sessions`);
  await laptop.page.locator('#loginName').waitFor();
  expect(laptop.consoleErrors).toEqual([]);
  await Promise.all([laptop.close(), phone.close()]);
}, 120_000);
