import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Browser, Page } from 'playwright-core';
import type { LoginWorld } from '../integration/login-support.js';
import { newJourney, waitOrExplain } from './browser-support.js';
import { VirtualAuthenticator } from './virtual-authenticator.js';

/** What the account page's browser tests share: signing in at /ui/account, and the axe-core check. */
const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

/** axe-core's serious and critical violations of the page (run through the DevTools protocol, so the page's CSP does not apply). */
export async function accessibilityProblems(page: Page): Promise<string[]> {
  await page.evaluate(axeSource);
  const result = await page.evaluate(async () => (window as any).axe.run(document, { resultTypes: ['violations'] }));
  return (result.violations as { id: string; impact: string; nodes: { target: string[] }[] }[])
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id} (${v.impact}): ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
}

/** Types the login name and password into the instance's login pages (the page must show the login-name form). */
export async function typePassword(page: Page, user: { loginName: string; password: string }): Promise<void> {
  await page.locator('#loginName').fill(user.loginName);
  await page.locator('form[action$="/loginname"] button[type=submit]').click();
  const password = page.locator('#password');
  await waitOrExplain(page, password, 'the password page after the login name');
  await password.fill(user.password);
  await page.locator('form[action$="/password"] button[type=submit]').first().click();
}

/** A browser signed in at /ui/account with a password, holding a virtual authenticator. */
export async function signedInAtAccount(
  browser: Browser,
  w: LoginWorld,
  name: string,
  user: { loginName: string; password: string },
  opts: { locale?: string; path?: string } = {},
) {
  const j = await newJourney(browser, w, name, opts);
  const authenticator = await VirtualAuthenticator.attach(j.context, j.page);
  const path = opts.path ?? '/ui/account';
  await j.page.goto(`${w.issuer}${path}`);
  await typePassword(j.page, user);
  await j.page.waitForURL((url) => url.pathname === path);
  return Object.assign(j, { authenticator });
}
