import type { Browser } from 'playwright-core';
import { loginWorld, type LoginWorld } from '../integration/login-support.js';
import { addHuman, login } from '../support/rp.js';
import { accessibilityProblems, signedInAtAccount } from './account-support.js';
import { launchChromium } from './browser-support.js';
import { listPasskeys } from '../../src/domain/passkey/queries.js';
import { getUser } from '../../src/domain/user/repository.js';
import { newId } from '../../src/shared/ids.js';

/**
 * The account page at /ui/account in Chromium, with its virtual authenticator: signing in through
 * the instance's own login, the profile, adding, renaming and removing a passkey, revoking an
 * application; every page checked with axe-core (no serious or critical violation).
 */
let w: LoginWorld;
let browser: Browser;
beforeAll(async () => {
  [w, browser] = await Promise.all([loginWorld('Account', {}, { tld: 'localhost' }), launchChromium()]);
}, 60_000);
afterAll(async () => {
  await browser?.close();
  await w?.close();
});

const signedIn = (name: string, user: { loginName: string; password: string }, opts: { locale?: string } = {}) =>
  signedInAtAccount(browser, w, name, user, opts);

test('a user adds a passkey on the account page, renames it and removes it; every page passes axe', async () => {
  const u = await addHuman(w.rt, w.inst.scope, w.inst.orgId, { username: `acc${newId()}` });
  const j = await signedIn('account-passkeys', u);
  await j.snap('profile');
  expect(await accessibilityProblems(j.page)).toEqual([]);

  await j.page.getByRole('link', { name: 'Passkeys' }).click();
  await j.page.getByRole('heading', { name: 'Passkeys', level: 1 }).waitFor();
  expect(await accessibilityProblems(j.page)).toEqual([]);
  await j.page.getByLabel('Name for this passkey (optional)').fill('Work laptop');
  await j.snap('passkeys-empty');
  await j.page.getByRole('button', { name: 'Add a passkey' }).click();
  await j.page.getByText('Passkey “Work laptop” added.').waitFor();
  await j.snap('passkey-added');
  expect(await accessibilityProblems(j.page)).toEqual([]);
  const [stored] = await listPasskeys(w.sys(), u.userId);
  expect(stored).toMatchObject({ name: 'Work laptop', rpId: w.inst.domain });
  const [credential] = await j.authenticator.credentials();
  expect(credential).toMatchObject({ isResidentCredential: true, rpId: w.inst.domain });

  await j.page.getByLabel('Name (Work laptop)').fill('Old laptop');
  await j.page.getByRole('button', { name: 'Rename Work laptop' }).click();
  await j.page.getByText('Passkey renamed.').waitFor();
  expect((await listPasskeys(w.sys(), u.userId))[0].name).toBe('Old laptop');
  await j.page.getByRole('button', { name: 'Remove Old laptop' }).click();
  await j.page.getByText('Passkey removed.').waitFor();
  expect(await listPasskeys(w.sys(), u.userId)).toEqual([]);
  expect(j.consoleErrors).toEqual([]); // nothing blocked by the content security policy
  await j.close();
}, 90_000);

test("the profile in German, and an application's access revoked", async () => {
  const u = await addHuman(w.rt, w.inst.scope, w.inst.orgId, { username: `app${newId()}` });
  await login(w.config, w.rp, { loginName: u.loginName, password: u.password, scope: 'openid profile' });
  const j = await signedIn('account-profile-applications', u, { locale: 'de-DE' });
  await j.page.getByLabel('Vorname').fill('Grete');
  await j.page.getByLabel('Bevorzugte Sprache').selectOption('de');
  await j.page.getByRole('button', { name: 'Speichern' }).click();
  await j.page.getByText('Ihr Profil wurde gespeichert.').waitFor();
  await j.snap('profile-saved-de');
  expect(await getUser(w.inst.scope, u.userId)).toMatchObject({ given_name: 'Grete', preferred_language: 'de' });

  await j.page.getByRole('link', { name: 'Anwendungen' }).click();
  const row = j.page.locator('ul.applications li');
  await row.first().waitFor();
  expect(await row.count()).toBe(1); // the test application; the account page itself is not listed
  await j.snap('applications-de');
  expect(await accessibilityProblems(j.page)).toEqual([]);
  await row.getByRole('button', { name: /Zugriff widerrufen/ }).click();
  await j.page.getByText('Keine Anwendung hat Zugriff auf Ihr Konto.').waitFor();
  await j.snap('applications-revoked-de');
  await j.close();
}, 90_000);
