import type { Browser } from 'playwright-core';
import { loginWorld, type LoginWorld } from '../integration/login-support.js';
import { addHuman, login } from '../support/rp.js';
import { accessibilityProblems, signedInAtAccount } from './account-support.js';
import { launchChromium } from './browser-support.js';
import { getUser } from '../../src/domain/user/repository.js';
import { newId } from '../../src/shared/ids.js';

/**
 * Changing the password on the account page, in Chromium: the current password is checked, the
 * org's complexity rules and the breached-password list are explained in the reader's language,
 * the notice mail goes out, and only the new password signs in afterwards.
 */
let w: LoginWorld;
let browser: Browser;
beforeAll(async () => {
  [w, browser] = await Promise.all([loginWorld('PwChange', {}, { tld: 'localhost' }), launchChromium()]);
}, 60_000);
afterAll(async () => {
  await browser?.close();
  await w?.close();
});

test('a user changes their password: wrong current, too weak, breached, then done with a notice mail', async () => {
  const u = await addHuman(w.rt, w.inst.scope, w.inst.orgId, { username: `pw${newId()}` });
  const j = await signedInAtAccount(browser, w, 'account-password', u);
  await j.page.getByRole('link', { name: 'Password', exact: true }).click();
  await j.page.getByRole('heading', { name: 'Password', level: 1 }).waitFor();
  expect(await accessibilityProblems(j.page)).toEqual([]);

  const change = async (current: string, next: string, repeat = next) => {
    await j.page.getByLabel('Current password').fill(current);
    await j.page.getByLabel('New password', { exact: true }).fill(next);
    await j.page.getByLabel('Repeat the new password').fill(repeat);
    await j.page.getByRole('button', { name: 'Change password' }).click();
  };
  await change('not-my-password', 'N3w-Secret-Phrase');
  await j.page.getByText('Your current password is not right.').waitFor();
  // Counted like a wrong password at sign-in (the lockout policy), and cleared by the change below.
  expect((await getUser(w.inst.scope, u.userId))!.failed_password_attempts).toBe(1);
  await change(u.password, 'short');
  await j.page.getByText('Use at least 8 characters.').waitFor();
  await j.page.getByText('Use an uppercase letter.').waitFor();
  await j.snap('password-rules');
  expect(await accessibilityProblems(j.page)).toEqual([]);
  await change(u.password, 'Password1');
  await j.page.getByText('This password is one of the most common in data breaches. Choose another.').waitFor();
  await change(u.password, 'N3w-Secret-Phrase', 'N3w-Secret-Phras');
  await j.page.getByText('The new passwords do not match.').waitFor();
  expect(w.smtp.mails.filter((m) => m.to.includes(`${u.username}@example.com`))).toEqual([]);

  await change(u.password, 'N3w-Secret-Phrase');
  await j.page.getByText('Your password was changed.').waitFor();
  expect((await getUser(w.inst.scope, u.userId))!.failed_password_attempts).toBe(0);
  await j.snap('password-changed');
  const notice = await w.smtp.waitFor(`${u.username}@example.com`);
  expect(notice.text).toContain(u.loginName);

  await expect(login(w.config, w.rp, { loginName: u.loginName, password: u.password })).rejects.toThrow(/did not return/);
  const ok = await login(w.config, w.rp, { loginName: u.loginName, password: 'N3w-Secret-Phrase' });
  expect(ok.tokens.claims()!.sub).toBe(u.userId);
  // The refused forms answer 400, which Chromium logs; nothing else (e.g. the content security policy) may complain.
  expect(j.consoleErrors.filter((e) => !e.includes('status of 400'))).toEqual([]);
  await j.close();
}, 90_000);
