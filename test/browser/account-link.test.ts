import type { Browser, Page } from 'playwright-core';
import { loginWorld, type LoginWorld } from '../integration/login-support.js';
import { addHuman } from '../support/rp.js';
import { accessibilityProblems, signedInAtAccount } from './account-support.js';
import { launchChromium } from './browser-support.js';
import { startUpstream, type Upstream } from './upstream.js';
import { createIdp, listIdpLinksOfUser } from '../../src/domain/idp/service.js';
import { setInstancePolicy } from '../../src/domain/policy/service.js';
import { builtInDefault } from '../../src/domain/policy/schemas.js';
import { newId } from '../../src/shared/ids.js';

/**
 * Linking an account at an external IdP from the account page, in Chromium, against a real
 * upstream OpenID Provider: the user signs in with their password, chooses Link, signs in at the
 * upstream and is back with the account listed; signed out, the IdP's button on the login page
 * signs them in as the same user.
 */
let w: LoginWorld;
let up: Upstream;
let browser: Browser;
let idpId: string;
beforeAll(async () => {
  [w, browser] = await Promise.all([loginWorld('Linking', {}, { tld: 'localhost' }), launchChromium()]);
  up = await startUpstream([`http://${w.inst.domain}:${w.server.port}/ui/login/idp/callback`]);
  // An instance IdP that creates no users: only a link can make its accounts sign in.
  ({ id: idpId } = await createIdp(w.sys(), {
    name: 'Contoso Entra ID',
    issuer: up.issuer,
    clientId: up.clientId,
    clientSecret: up.clientSecret,
    isCreationAllowed: false,
    autoLinking: 'none',
  }));
  await setInstancePolicy(w.sys(), 'login', { ...builtInDefault('login'), allowExternalIdp: true, idpIds: [idpId] });
}, 60_000);
afterAll(async () => {
  await browser?.close();
  await up?.close();
  await w?.close();
});

/** A journey at /ui/account; the upstream's development login page asks for a web font, answered here (the test has no internet). */
async function journey(name: string, user: { loginName: string; password: string }) {
  const j = await signedInAtAccount(browser, w, name, user, { path: '/ui/account/identities' });
  await j.context.route('https://fonts.googleapis.com/**', (route) => route.fulfill({ status: 200, contentType: 'text/css', body: '' }));
  return j;
}

/** The upstream's own (development) login form as `sub`, and its consent page when it shows one. */
async function signInUpstream(page: Page, sub: string): Promise<void> {
  await page.waitForURL((url) => url.origin === up.issuer);
  await page.locator('input[name=login]').fill(sub);
  await page.locator('input[name=password]').fill('anything');
  await page.locator('button[type=submit]').first().click();
  await page.waitForLoadState();
  if (new URL(page.url()).origin === up.issuer) await page.locator('button[type=submit]').first().click();
}

test('a user links an account at an instance IdP on the account page, then signs in with it as themselves', async () => {
  const u = await addHuman(w.rt, w.inst.scope, w.inst.orgId, { username: `ln${newId()}`, givenName: 'Grace' });
  const sub = `entra-${newId()}`;
  // Another address than the user's: nothing but the link ties the two accounts together.
  up.accounts.set(sub, { email: `grace.h@contoso.example`, email_verified: true, preferred_username: 'grace.h@contoso.example' });

  const j = await journey('account-link', u);
  await j.page.getByText('No account at another provider is linked.').waitFor();
  await j.snap('identities-linkable');
  expect(await accessibilityProblems(j.page)).toEqual([]);
  await j.page.getByRole('button', { name: 'Link Contoso Entra ID' }).click();
  await signInUpstream(j.page, sub);
  await j.page.waitForURL((url) => url.pathname === '/ui/account/identities');
  await j.page.getByText('Your account grace.h@contoso.example at Contoso Entra ID is linked. It signs you in from now on.').waitFor();
  await j.page.getByText('grace.h@contoso.example', { exact: true }).waitFor();
  // Linked: no second Link button for the same IdP.
  expect(await j.page.getByRole('button', { name: 'Link Contoso Entra ID', exact: true }).count()).toBe(0);
  await j.snap('identities-linked');
  expect(await accessibilityProblems(j.page)).toEqual([]);
  expect((await listIdpLinksOfUser(w.inst.scope, u.userId)).map((l) => [l.idp_id, l.external_user_id])).toEqual([[idpId, sub]]);

  await j.page.getByRole('button', { name: 'Sign out' }).click();
  await j.page.getByRole('button', { name: 'Yes, sign me out' }).click();
  await j.page.getByRole('heading', { name: 'Signed out' }).waitFor();

  // Back through the login page's button for the IdP, without a password: the same user.
  await j.page.goto(`${w.issuer}/ui/account`);
  await j.page.getByRole('link', { name: /Contoso Entra ID/ }).click();
  if (new URL(j.page.url()).origin === up.issuer) await signInUpstream(j.page, sub);
  await j.page.waitForURL((url) => url.pathname === '/ui/account');
  await j.page.getByRole('heading', { name: 'Your profile' }).waitFor();
  await j.page.getByText(u.loginName).first().waitFor();
  await j.snap('signed-in-with-idp');
  expect(j.consoleErrors).toEqual([]);
  await j.close();
}, 120_000);

test('linking starts only after a fresh sign-in: an older one signs in again first, then Link goes on', async () => {
  const u = await addHuman(w.rt, w.inst.scope, w.inst.orgId, { username: `lf${newId()}` });
  const j = await journey('account-link-reauth', u);
  // The sign-in is ten minutes old now.
  await w.inst.scope
    .table('ui_sessions')
    .where({ user_id: u.userId })
    .update({ data: JSON.stringify({ authTime: Math.floor(Date.now() / 1000) - 600 }) });
  await j.page.getByRole('button', { name: 'Link Contoso Entra ID' }).click();
  // The login asks again, the login name filled in.
  await j.page.locator('#loginName').waitFor();
  await j.page.locator('form[action$="/loginname"] button[type=submit]').click();
  await j.page.locator('#password').fill(u.password);
  await j.page.locator('form[action$="/password"] button[type=submit]').first().click();
  await j.page.waitForURL((url) => url.pathname === '/ui/account/identities/link');
  await j.page.getByRole('heading', { name: 'Link an account', level: 1 }).waitFor();
  expect(await accessibilityProblems(j.page)).toEqual([]);
  await j.page.getByRole('button', { name: /^Continue to / }).click();
  await j.page.waitForURL((url) => url.origin === up.issuer);
  expect(j.consoleErrors).toEqual([]);
  await j.close();
}, 90_000);
