import type { Browser } from 'playwright-core';
import { loginWorld, type LoginWorld } from '../integration/login-support.js';
import { accessibilityProblems } from './account-support.js';
import { launchChromium, newJourney } from './browser-support.js';
import { VirtualAuthenticator } from './virtual-authenticator.js';
import { listPasskeys } from '../../src/domain/passkey/queries.js';
import { userSignInSessions } from '../../src/domain/session/queries.js';

/**
 * Issue 12's "done when", in Chromium: on a fresh instance the first admin signs in at
 * /ui/account, adds a passkey with "Add a passkey", signs out (through the logout confirmation),
 * and signs in again with "Sign in with a passkey" without typing a password. The screenshots at
 * desktop width are the README's.
 */
let w: LoginWorld;
let browser: Browser;
beforeAll(async () => {
  [w, browser] = await Promise.all([loginWorld('Quickstart', {}, { tld: 'localhost' }), launchChromium()]);
}, 60_000);
afterAll(async () => {
  await browser?.close();
  await w?.close();
});

test('the first admin adds a passkey on the account page, signs out, and signs in with the passkey alone', async () => {
  const j = await newJourney(browser, w, 'account-journey');
  await j.page.setViewportSize({ width: 1100, height: 760 });
  // Chromium's virtual authenticator answers the autofill's conditional request at once; without
  // conditional mediation the page waits for the button, as the done-when sentence has it.
  await j.context.addInitScript(() => {
    Object.defineProperty(PublicKeyCredential, 'isConditionalMediationAvailable', { value: async () => false });
  });
  const authenticator = await VirtualAuthenticator.attach(j.context, j.page);
  const passwordsTyped: string[] = [];
  j.page.on('request', (r) => {
    if (r.method() === 'POST' && r.url().endsWith('/password')) passwordsTyped.push(r.url());
  });

  await j.page.goto(`${w.issuer}/ui/account`);
  await j.page.getByLabel('Login name or email').fill(w.inst.adminLoginName);
  await j.page.getByRole('button', { name: 'Next' }).click();
  await j.page.getByLabel('Password').fill(w.inst.adminPassword);
  await j.page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await j.page.waitForURL((url) => url.pathname === '/ui/account');
  expect(passwordsTyped).toHaveLength(1);

  await j.page.getByRole('link', { name: 'Passkeys' }).click();
  await j.page.getByRole('button', { name: 'Add a passkey' }).click();
  await j.page.getByText(/^Passkey “.*” added\.$/).waitFor();
  await j.snap('passkey-added');
  expect(await accessibilityProblems(j.page)).toEqual([]);
  const admin = (await userSignInSessions(w.sys(), (await w.inst.scope.table('users').where({ username: 'admin' }).first('id')).id))[0];
  expect(admin.amr).toEqual(['pwd']);
  expect(await authenticator.credentials()).toHaveLength(1);

  // Signing out goes through the provider's confirmation, then to the account page's signed-out page.
  await j.page.getByRole('button', { name: 'Sign out' }).click();
  await j.page.getByRole('heading', { name: 'Sign out?' }).waitFor();
  await j.page.getByRole('button', { name: 'Yes, sign me out' }).click();
  await j.page.getByRole('heading', { name: 'Signed out' }).waitFor();

  await j.page.goto(`${w.issuer}/ui/account`);
  await j.page.getByRole('button', { name: 'Sign in with a passkey' }).waitFor();
  await j.snap('sign-in-with-passkey');
  await j.page.getByRole('button', { name: 'Sign in with a passkey' }).click();
  await j.page.waitForURL((url) => url.pathname === '/ui/account');
  await j.page.getByRole('heading', { name: 'Your profile' }).waitFor();
  await j.snap('signed-in-with-passkey');
  expect(passwordsTyped).toHaveLength(1); // no password the second time
  const userId = (await w.inst.scope.table('users').where({ username: 'admin' }).first('id')).id as string;
  const sessions = await userSignInSessions(w.sys(), userId);
  expect(sessions.map((s) => s.amr)).toEqual([['user', 'mfa']]);
  const [passkey] = await listPasskeys(w.sys(), userId);
  expect(passkey.lastUsedAt).not.toBeNull();
  expect(j.consoleErrors).toEqual([]);
  await j.close();
}, 90_000);
