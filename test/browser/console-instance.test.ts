import type { Browser } from 'playwright-core';
import { newId } from '../../src/shared/ids.js';
import { loginWorld, type LoginWorld } from '../integration/login-support.js';
import { manager } from '../integration/console-support.js';
import { localRequest } from '../support/rp.js';
import { launchChromium } from './browser-support.js';
import { ConsoleJourney } from './console-support.js';

/**
 * The instance administrator's domains and managers in Chromium, clicked and typed as an
 * instance owner would. Every page is screenshotted into test-artifacts/console/{journey}/ and
 * checked with axe-core.
 */
let w: LoginWorld;
let browser: Browser;
beforeAll(async () => {
  [w, browser] = await Promise.all([loginWorld('Instance'), launchChromium()]);
}, 60_000);
afterAll(async () => {
  await browser?.close();
  await w?.close();
});

const db = () => w.rt.db.knex;
const domainRows = async () =>
  (await db()('instance_domains').where({ instance_id: w.inst.instanceId }).orderBy('domain')).map((d) => `${d.domain}${d.is_primary ? ' (primary)' : ''}`);
const status = async (j: ConsoleJourney) => (await j.page.getByRole('status').innerText()).trim();

test('an instance owner adds a domain (bad input first), the instance answers there, makes it primary and removes another after a confirmation', async () => {
  const alias = `alias-${w.inst.domain}`;
  const spare = `spare-${w.inst.domain}`;
  const j = await ConsoleJourney.start(w, browser, 'instance-domains');
  const { page } = j;
  await j.signIn(w.inst.adminLoginName, w.inst.adminPassword);
  await page.getByRole('navigation', { name: 'Console' }).getByRole('link', { name: 'Instance' }).click();
  await page.getByRole('link', { name: /^Domains The addresses/ }).click();
  await page.getByRole('heading', { name: 'Instance domains' }).waitFor();
  await page.getByRole('row', { name: new RegExp(`${w.inst.domain} primary you are here`) }).waitFor();
  await j.check('instance-domains');

  // Bad input: the message on the field, the value kept, nothing added.
  await page.getByRole('textbox', { name: 'Domain' }).fill('https://auth.example.com/');
  await page.getByRole('button', { name: 'Add domain' }).click();
  await page.getByText('Enter a host name such as auth.example.com, without scheme, port or path.').waitFor();
  expect(await page.getByRole('textbox', { name: 'Domain' }).getAttribute('aria-invalid')).toBe('true');
  expect(await page.getByRole('textbox', { name: 'Domain' }).inputValue()).toBe('https://auth.example.com/');
  await j.check('instance-domain-invalid');
  expect(await domainRows()).toEqual([`${w.inst.domain} (primary)`]);

  // Added: the instance answers on it at once, with that host as issuer.
  await page.getByRole('textbox', { name: 'Domain' }).fill(alias);
  await page.getByRole('button', { name: 'Add domain' }).click();
  expect(await status(j)).toBe(`${alias} was added: the instance now answers there.`);
  await j.check('instance-domain-added');
  const discovery = await localRequest(new URL(`http://${alias}:${w.server.port}/.well-known/openid-configuration`));
  expect(JSON.parse(discovery.body).issuer).toBe(`http://${alias}:${w.server.port}`);

  await page.getByRole('button', { name: `Make primary ${alias}` }).click();
  expect(await status(j)).toBe(`${alias} is now the primary domain.`);
  expect(await domainRows()).toEqual([`${alias} (primary)`, w.inst.domain].sort());
  // The domain this console runs on, and the primary one, are not offered for removal.
  expect(await page.getByRole('link', { name: `Remove… ${w.inst.domain}` }).count()).toBe(0);
  expect(await page.getByRole('link', { name: `Remove… ${alias}` }).count()).toBe(0);

  // Another one, removed after the confirmation page (Cancel first: nothing goes).
  await page.getByRole('textbox', { name: 'Domain' }).fill(spare);
  await page.getByRole('button', { name: 'Add domain' }).click();
  await page.getByRole('link', { name: `Remove… ${spare}` }).click();
  await page.getByRole('heading', { name: `Remove ${spare}?` }).waitFor();
  await j.check('instance-domain-remove');
  await page.getByRole('link', { name: 'Cancel' }).click();
  expect(await domainRows()).toContain(spare);
  await page.getByRole('link', { name: `Remove… ${spare}` }).click();
  await page.getByRole('button', { name: `Remove ${spare}` }).click();
  expect(await status(j)).toBe(`${spare} was removed: the instance no longer answers there.`);
  await j.check('instance-domain-removed');
  expect(await domainRows()).toEqual([`${alias} (primary)`, w.inst.domain].sort());
  expect((await localRequest(new URL(`http://${spare}:${w.server.port}/.well-known/openid-configuration`))).status).toBe(404);

  expect(j.consoleErrors.filter((e) => !e.startsWith('Failed to load resource'))).toEqual([]);
  expect(Object.entries(j.violations).filter(([, v]) => v.length)).toEqual([]);
  await j.close();
}, 240_000);

test('an instance admin adds an instance manager (an unknown login name refused on its field), changes their roles, cannot drop the last owner, and removes them', async () => {
  const orgDomain = w.inst.adminLoginName.split('@')[1];
  const m = await manager(w.sys(), w.inst.orgId, `iam${newId()}`, orgDomain);
  const j = await ConsoleJourney.start(w, browser, 'instance-managers');
  const { page } = j;
  page.on('dialog', (d) => void d.accept());
  await j.signIn(w.inst.adminLoginName, w.inst.adminPassword, '/ui/console/instance/managers');
  await j.check('instance-managers');
  await page.getByRole('textbox', { name: 'User', exact: true }).fill(`nobody${newId()}@${orgDomain}`);
  await page.getByLabel('IAM_ORG_MANAGER', { exact: true }).check();
  await page.getByRole('button', { name: 'Add manager' }).click();
  await page.getByText('No user has this username or login name.').waitFor();
  await page.getByRole('textbox', { name: 'User', exact: true }).fill(m.loginName);
  await page.getByRole('button', { name: 'Add manager' }).click();
  expect(await status(j)).toBe(`${m.loginName} is now a manager here.`);
  const roles = async (userId: string) =>
    (await db()('memberships').where({ instance_id: w.inst.instanceId, user_id: userId, level: 'instance' }).first())?.roles;
  expect(await roles(m.id)).toEqual(['IAM_ORG_MANAGER']);

  // Their roles changed: one taken away, another given.
  await page.getByRole('link', { name: `Change roles ${m.loginName}` }).click();
  await page.getByRole('heading', { name: `Roles of ${m.loginName}` }).waitFor();
  await j.check('instance-manager-roles');
  await page.getByLabel('IAM_ORG_MANAGER', { exact: true }).uncheck();
  await page.getByLabel('IAM_USER_MANAGER', { exact: true }).check();
  await page.getByLabel('IAM_OWNER_VIEWER', { exact: true }).check();
  await page.getByRole('button', { name: 'Save' }).click();
  expect(await status(j)).toBe(`The roles of ${m.loginName} were saved.`);
  expect([...(await roles(m.id))].sort()).toEqual(['IAM_OWNER_VIEWER', 'IAM_USER_MANAGER']);
  await page.getByRole('row', { name: new RegExp(`${m.loginName}.*IAM_OWNER_VIEWER`) }).waitFor();

  // The admin is the last IAM_OWNER: giving that role up is refused, and nothing changes.
  await page.getByRole('link', { name: `Change roles ${w.inst.adminLoginName}` }).click();
  await page.getByLabel('IAM_OWNER', { exact: true }).uncheck();
  await page.getByLabel('IAM_OWNER_VIEWER', { exact: true }).check();
  await page.getByRole('button', { name: 'Save' }).click();
  await page.getByRole('alert').getByText('This is the last active instance owner: the instance must keep one.').waitFor();
  await j.check('instance-manager-last-owner');
  expect(await roles(w.inst.adminUserId)).toEqual(['IAM_OWNER']);

  await page.goto(j.url('/ui/console/instance/managers'));
  await page.getByRole('button', { name: `Remove ${m.loginName}` }).click();
  await page.getByRole('status').waitFor();
  expect(await db()('memberships').where({ instance_id: w.inst.instanceId, user_id: m.id, level: 'instance' })).toHaveLength(0);
  expect(Object.entries(j.violations).filter(([, v]) => v.length)).toEqual([]);
  await j.close();
}, 240_000);
