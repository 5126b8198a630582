import type { Browser } from 'playwright-core';
import { loginWorld, type LoginWorld } from '../integration/login-support.js';
import { addHuman, login } from '../support/rp.js';
import { accessibilityProblems, signedInAtAccount } from './account-support.js';
import { launchChromium } from './browser-support.js';
import { createIdp, linkUserToIdp } from '../../src/domain/idp/service.js';
import { currentStep, totpCodeAt } from '../../src/domain/mfa/service.js';
import { setInstancePolicy } from '../../src/domain/policy/service.js';
import { builtInDefault } from '../../src/domain/policy/schemas.js';
import { newId } from '../../src/shared/ids.js';

/**
 * Every account page in German (the browser asks for de-DE), checked with axe-core: no serious or
 * critical violation, and the page says it is German (html lang="de", which screen readers read
 * it by). The English pages are checked in the other account tests; this covers each page and
 * its states (errors, pending change, an app set up, linked and linkable identities, refusals)
 * once in the other language, whose longer words and own strings are what can break labels.
 */
let w: LoginWorld;
let browser: Browser;
beforeAll(async () => {
  [w, browser] = await Promise.all([loginWorld('Barrierefrei', {}, { tld: 'localhost' }), launchChromium()]);
}, 60_000);
afterAll(async () => {
  await browser?.close();
  await w?.close();
});

test('every account page in German passes axe-core', async () => {
  // One IdP linked, another one to link; an application with access.
  const idp = async (name: string) => (await createIdp(w.sys(), { name, issuer: 'https://idp.example', clientId: 'c', clientSecret: 's' })).id;
  const [linkedIdp, linkableIdp] = [await idp('Contoso Entra ID'), await idp('Fabrikam Okta')];
  await setInstancePolicy(w.sys(), 'login', { ...builtInDefault('login'), allowExternalIdp: true, idpIds: [linkedIdp, linkableIdp] });
  const u = await addHuman(w.rt, w.inst.scope, w.inst.orgId, { username: `bf${newId()}` });
  await linkUserToIdp(w.sys(), { idpId: linkedIdp, externalUserId: `entra-${newId()}`, userId: u.userId, externalUsername: 'grete@contoso.example' });
  await login(w.config, w.rp, { loginName: u.loginName, password: u.password, scope: 'openid profile' });

  const j = await signedInAtAccount(browser, w, 'account-a11y-de', u, { locale: 'de-DE' });
  const checked: string[] = [];
  const problems: Record<string, string[]> = {};
  async function check(name: string): Promise<void> {
    expect({ name, lang: await j.page.locator('html').getAttribute('lang') }).toEqual({ name, lang: 'de' });
    await j.page.locator('h1').first().waitFor();
    const found = await accessibilityProblems(j.page);
    if (found.length) problems[name] = found;
    checked.push(name);
  }
  const open = async (path: string, name: string) => {
    await j.page.goto(`${w.issuer}/ui/account${path}`);
    await check(name);
  };
  const submit = async (formAction: string) => {
    await j.page.locator(`form[action$="${formAction}"] button[type=submit]`).first().click();
    await j.page.waitForLoadState();
  };

  await open('', 'profile');
  await j.page.locator('#givenName').fill('');
  await submit('/ui/account');
  await j.page.locator('.field-error, .flash').first().waitFor();
  await check('profile after saving');

  await open('/email', 'email');
  await j.page.locator('#email').fill(`${u.username}@neu.example.de`);
  await submit('/email');
  await check('email, change pending');
  await j.page.locator('#code').fill('FALSCH');
  await submit('/email/confirm');
  await check('email, wrong code');

  await open('/password', 'password');
  await j.page.locator('#currentPassword').fill('falsch');
  await submit('/password');
  await check('password with errors');

  await open('/security', 'two-factor, none');
  await open('/security/totp', 'authenticator app set-up');
  await j.page.locator('#code').fill('000000');
  await submit('/security/totp');
  await check('authenticator app set-up, wrong code');
  const secret = (await j.page.locator('code.secret').textContent())!.trim();
  await j.page.locator('#code').fill(totpCodeAt(secret, currentStep()));
  await submit('/security/totp');
  await check('recovery codes');
  await open('/security', 'two-factor, app set up');
  await open('/security/totp/remove', 'remove the app, confirm');
  await open('/security/recovery-codes', 'new recovery codes, confirm');

  await open('/passkeys', 'passkeys');
  await open('/identities', 'linked accounts');
  expect(await j.page.getByRole('button', { name: 'Verknüpfen Fabrikam Okta', exact: true }).count()).toBe(1);
  await open(`/identities/link?idp=${linkableIdp}`, 'link, confirm');
  await j.page.goto(`${w.issuer}/ui/login/idp/callback?state=link.${newId()}&code=fremd`);
  expect(new URL(j.page.url()).pathname).toBe('/ui/account/identities/link/return');
  await check('link refused');
  await open('/sessions', 'sessions');
  await open('/applications', 'applications');
  await open('/nicht-da', 'not found');

  await j.page.locator('form.signout button[type=submit]').click();
  await j.page.locator('button[name=logout]').click(); // the provider's confirmation, not an account page
  await j.page.waitForURL((url) => url.pathname.startsWith('/ui/account/signed-out'));
  await check('signed out');

  expect(problems).toEqual({});
  expect(checked).toHaveLength(22);
  await j.close();
}, 240_000);
