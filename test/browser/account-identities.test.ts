import type { Browser } from 'playwright-core';
import { loginWorld, type LoginWorld } from '../integration/login-support.js';
import { addHuman } from '../support/rp.js';
import { accessibilityProblems, signedInAtAccount } from './account-support.js';
import { launchChromium } from './browser-support.js';
import { createIdp, linkUserToIdp, listIdpLinksOfUser } from '../../src/domain/idp/service.js';
import { newId } from '../../src/shared/ids.js';

/**
 * Linked external identities on the account page, in Chromium: the user sees which accounts at
 * other providers sign them in, unlinks one, and cannot unlink the last way in.
 */
let w: LoginWorld;
let browser: Browser;
beforeAll(async () => {
  [w, browser] = await Promise.all([loginWorld('Linked', {}, { tld: 'localhost' }), launchChromium()]);
}, 60_000);
afterAll(async () => {
  await browser?.close();
  await w?.close();
});

test('a user unlinks an external account, but not their last way to sign in', async () => {
  const { id: idpId } = await createIdp(w.sys(), { name: 'Contoso Entra ID', issuer: 'https://login.contoso.example', clientId: 'c', clientSecret: 's' });
  const u = await addHuman(w.rt, w.inst.scope, w.inst.orgId, { username: `li${newId()}` });
  await linkUserToIdp(w.sys(), { idpId, externalUserId: `entra-${newId()}`, userId: u.userId, externalUsername: 'grace@contoso.example' });
  const j = await signedInAtAccount(browser, w, 'account-identities', u);
  await j.page.getByRole('link', { name: 'Linked accounts' }).click();
  await j.page.getByText('grace@contoso.example', { exact: true }).waitFor();
  await j.snap('identities');
  expect(await accessibilityProblems(j.page)).toEqual([]);

  // Without a password or a passkey, the link is the only way in: it stays.
  await w.inst.scope.table('users').where({ id: u.userId }).update({ password_hash: null });
  await j.page.reload();
  await j.page.getByText('Your only way to sign in: add a password or a passkey before you unlink it.').waitFor();
  expect(await j.page.getByRole('button', { name: /^Unlink/ }).count()).toBe(0);

  await w.inst.scope
    .table('users')
    .where({ id: u.userId })
    .update({ password_hash: await w.rt.deps.hasher.hash(u.password) });
  await j.page.reload();
  await j.page.getByRole('button', { name: 'Unlink Contoso Entra ID (grace@contoso.example)' }).click();
  await j.page.getByText('The account was unlinked. It no longer signs you in.').waitFor();
  await j.page.getByText('No account at another provider is linked.').waitFor();
  expect(await listIdpLinksOfUser(w.inst.scope, u.userId)).toEqual([]);
  expect(j.consoleErrors).toEqual([]);
  await j.close();
}, 90_000);
