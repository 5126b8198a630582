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
 * the new one is then verified.
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

test('a user changes their email: a code to the new address, the link confirms it, the old address stays until then', async () => {
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
  expect(j.consoleErrors.filter((e) => !e.includes('status of 400'))).toEqual([]);
  await j.close();
}, 90_000);
