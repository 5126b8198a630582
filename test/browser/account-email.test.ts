import type { Browser } from 'playwright-core';
import { loginWorld, type LoginWorld } from '../integration/login-support.js';
import { addHuman } from '../support/rp.js';
import { accessibilityProblems, signedInAtAccount } from './account-support.js';
import { launchChromium } from './browser-support.js';
import { getUser } from '../../src/domain/user/repository.js';
import { newId } from '../../src/shared/ids.js';

/**
 * Changing the email address on the account page, in Chromium: the code goes to the new address
 * only, the old address stays until the code comes back (typed or through the mail's link), and
 * the new one is then verified; the old address gets a notice naming the new one (en and de).
 */
let w: LoginWorld;
let browser: Browser;
beforeAll(async () => {
  [w, browser] = await Promise.all([loginWorld('Mailbox', {}, { tld: 'localhost' }), launchChromium()]);
}, 60_000);
afterAll(async () => {
  await browser?.close();
  await w?.close();
});

test('a user changes their email: a code to the new address, the link confirms it, the old address stays until then and is told afterwards', async () => {
  const u = await addHuman(w.rt, w.inst.scope, w.inst.orgId, { username: `em${newId()}` });
  const oldAddress = `${u.username}@example.com`;
  const newAddress = `${u.username}@new.example.org`;
  const j = await signedInAtAccount(browser, w, 'account-email', u);
  await j.page.getByRole('link', { name: 'Change', exact: true }).click();
  await j.page.getByRole('heading', { name: 'Email address', level: 1 }).waitFor();
  expect(await accessibilityProblems(j.page)).toEqual([]);

  await j.page.getByLabel('New email address').fill(oldAddress);
  await j.page.getByRole('button', { name: 'Send a code' }).click();
  await j.page.getByText('Enter a valid email address that is not your current one.').waitFor();
  await j.page.getByLabel('New email address').fill(newAddress);
  await j.page.getByRole('button', { name: 'Send a code' }).click();
  await j.page.getByText(`We sent a code to ${newAddress}.`).waitFor();
  await j.snap('email-code-sent');
  expect(await accessibilityProblems(j.page)).toEqual([]);
  const mail = await w.smtp.waitFor(newAddress);
  expect(w.smtp.mails.filter((m) => m.to.includes(oldAddress))).toEqual([]);
  const link = /(http:\/\/[^\s"<>]+\/ui\/account\/email\?code=[A-Z0-9]+)/.exec(mail.text)![1];
  expect(await getUser(w.inst.scope, u.userId)).toMatchObject({ email: oldAddress, email_verified: true });

  await j.page.getByLabel('Code from the mail').fill('WRONGCODE');
  await j.page.getByRole('button', { name: 'Confirm' }).click();
  await j.page.getByText('That code is not right or has expired.').waitFor();
  expect((await getUser(w.inst.scope, u.userId))!.email).toBe(oldAddress);

  await j.page.goto(link);
  await j.page.getByRole('button', { name: 'Confirm' }).click();
  await j.page.getByText(`Your email address is now ${newAddress}.`).waitFor();
  await j.snap('email-changed');
  expect(await getUser(w.inst.scope, u.userId)).toMatchObject({ email: newAddress, email_verified: true });
  // The code worked once: the form to confirm is gone.
  expect(await j.page.getByLabel('Code from the mail').count()).toBe(0);
  // The old address is told, with the new one, in case it was not its owner who changed it.
  const notice = await w.smtp.waitFor(oldAddress);
  expect(notice.subject).toBe('Your email address was changed');
  expect(notice.text).toContain(`was just changed to ${newAddress}.`);
  expect(notice.text).toContain('If you did not do this, contact your administrator at once');
  expect(w.smtp.mails.filter((m) => m.to.includes(newAddress)).map((m) => m.subject)).toEqual(['Verify your email address']);
  expect(j.consoleErrors.filter((e) => !e.includes('status of 400'))).toEqual([]);
  await j.close();
}, 90_000);

test('the notice to the old address is in the language of the page the change was confirmed on', async () => {
  const u = await addHuman(w.rt, w.inst.scope, w.inst.orgId, { username: `de${newId()}` });
  const oldAddress = `${u.username}@example.com`;
  const newAddress = `${u.username}@neu.example.de`;
  const j = await signedInAtAccount(browser, w, 'account-email-de', u, { locale: 'de-DE', path: '/ui/account/email' });
  await j.page.getByLabel('Neue E-Mail-Adresse').fill(newAddress);
  await j.page.getByRole('button', { name: 'Code senden' }).click();
  const code = /\/ui\/account\/email\?code=([A-Z0-9]+)/.exec((await w.smtp.waitFor(newAddress)).text)![1];
  await j.page.getByLabel('Code aus der Mail').fill(code);
  await j.page.getByRole('button', { name: 'Bestätigen' }).click();
  await j.page.getByText(`Ihre E-Mail-Adresse ist jetzt ${newAddress}.`).waitFor();
  const notice = await w.smtp.waitFor(oldAddress);
  expect(notice.subject).toBe('Ihre E-Mail-Adresse wurde geändert');
  expect(notice.text).toContain(`wurde soeben in ${newAddress} geändert.`);
  await j.close();
}, 90_000);
