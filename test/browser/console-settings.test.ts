import type { Browser } from 'playwright-core';
import { patchPolicy } from '../../src/domain/policy/service.js';
import { newId } from '../../src/shared/ids.js';
import { loginWorld, type LoginWorld } from '../integration/login-support.js';
import { manager } from '../integration/console-support.js';
import { addOrg } from '../support/rp.js';
import { launchChromium, newJourney } from './browser-support.js';
import { ConsoleJourney } from './console-support.js';
import { startUpstream, type Upstream } from './upstream.js';

/**
 * The console's settings areas in Chromium, as an admin would use them: policies (with the
 * login page preview beside the login policy's form, live as its fields change), and what each
 * change does to the next login. Every page is screenshotted into test-artifacts/console/ and
 * checked with axe-core.
 */
let w: LoginWorld;
let browser: Browser;
let up: Upstream;
beforeAll(async () => {
  [w, browser] = await Promise.all([loginWorld('Settings'), launchChromium()]);
  up = await startUpstream([`http://${w.inst.domain}:${w.server.port}/ui/login/idp/callback`]);
}, 60_000);
afterAll(async () => {
  await browser?.close();
  await up?.close();
  await w?.close();
});

const db = () => w.rt.db.knex;
const orgPolicyRows = (orgId: string, kind: string) => db()('policies').where({ instance_id: w.inst.instanceId, org_id: orgId, kind });

async function newOrg(): Promise<{ id: string; domain: string }> {
  const domain = `s${newId()}.example`;
  return { id: await addOrg(w.inst.scope, `Org ${domain}`, domain), domain };
}

/** The login page as the org's users meet it: does it offer "Create an account"? */
async function nextLoginOffersRegistration(orgId: string, name: string): Promise<boolean> {
  const j = await newJourney(browser, w, name);
  await j.start(`openid urn:zitadel:iam:org:id:${orgId}`);
  await j.page.getByLabel('Login name or email').waitFor();
  await j.snap('login-name');
  const offered = (await j.page.getByRole('link', { name: 'Create an account' }).count()) > 0;
  await j.close();
  return offered;
}

test('a login policy change shows in the next login; bad input, preview, stale form and reset', async () => {
  const org = await newOrg();
  expect(await nextLoginOffersRegistration(org.id, 'policy-before')).toBe(false);

  const j = await ConsoleJourney.start(w, browser, 'policies');
  const { page } = j;
  page.on('dialog', (d) => void d.accept());
  await j.signIn(w.inst.adminLoginName, w.inst.adminPassword, `/ui/console/orgs/${org.id}`);
  await page.getByRole('navigation', { name: 'Console' }).getByRole('link', { name: 'Policies' }).click();
  await j.check('policies');
  await page.getByRole('link', { name: /^Login policy/ }).click();
  await j.check('login-policy');

  // Bad input: the form comes back with the values typed and the message on the field; nothing saved.
  await page.getByLabel('Allow self-registration').check();
  await page.getByLabel('Password check valid for (seconds)').fill('1.5');
  await page.getByRole('button', { name: 'Save' }).click();
  await page.getByText('Please enter a whole number.').waitFor();
  expect(await page.getByLabel('Password check valid for (seconds)').inputValue()).toBe('1.5');
  expect(await page.getByLabel('Password check valid for (seconds)').getAttribute('aria-invalid')).toBe('true');
  expect(await page.getByLabel('Allow self-registration').isChecked()).toBe(true);
  await j.check('login-policy-invalid');
  expect(await orgPolicyRows(org.id, 'login')).toHaveLength(0);

  // The preview beside the form: the login page as this org's users would see it, live as fields
  // change (login-preview.js), nothing saved.
  const preview = page.frameLocator('iframe[title="Preview of the login page"]');
  await preview.getByRole('note').getByText('Preview: this is the login page').waitFor();
  await page.getByLabel('Password check valid for (seconds)').fill('864000');
  await preview.getByRole('link', { name: 'Create an account' }).waitFor();
  await page.getByLabel('Allow self-registration').uncheck();
  await preview.getByRole('link', { name: 'Create an account' }).waitFor({ state: 'detached' });
  await page.getByLabel('Allow sign-in with login name and password').uncheck();
  await preview.getByRole('note').getByText('Preview: this is the login page').waitFor();
  await preview.getByLabel('Login name or email').waitFor({ state: 'detached' });
  await page.getByLabel('Allow sign-in with login name and password').check();
  await page.getByLabel('Allow self-registration').check();
  await preview.getByRole('link', { name: 'Create an account' }).waitFor();
  await j.check('login-policy-live-preview');
  // The "Preview these settings" button (what works without JavaScript): the editor again, values kept.
  await page.getByRole('button', { name: 'Preview these settings' }).click();
  await page.getByText('The login page with the settings in the form, not saved yet.').waitFor();
  expect(await page.getByLabel('Allow self-registration').isChecked()).toBe(true);
  expect(await page.getByLabel('Password check valid for (seconds)').inputValue()).toBe('864000');
  await preview.getByRole('link', { name: 'Create an account' }).waitFor();
  await j.check('login-preview');
  expect(await orgPolicyRows(org.id, 'login')).toHaveLength(0);
  // The preview page itself, as the frame shows it, checked on its own.
  const framed = await page.locator('iframe[title="Preview of the login page"]').getAttribute('src');
  await page.goto(j.url(framed!));
  await j.check('login-preview-page');
  await page.goto(j.url(`/ui/console/orgs/${org.id}/policies/login`));

  await page.getByLabel('Allow self-registration').check();
  await page.getByRole('button', { name: 'Save' }).click();
  expect((await page.getByRole('status').innerText()).trim()).toBe('The policy was saved.');
  await page.getByText("this organization's own").first().waitFor();
  expect(await nextLoginOffersRegistration(org.id, 'policy-after')).toBe(true);

  // Someone else changes the policy while the form is open: the form says so, nothing is overwritten.
  await page.getByLabel('Require a second factor').check();
  await patchPolicy(w.sys(), org.id, 'login', { hidePasswordReset: true });
  await page.getByRole('button', { name: 'Save' }).click();
  expect(await page.getByRole('alert').innerText()).toContain('Someone else changed this in the meantime');
  expect(await page.getByLabel('Require a second factor').isChecked()).toBe(true);
  await j.check('login-policy-stale');
  const [row] = await orgPolicyRows(org.id, 'login');
  expect(row.settings).toMatchObject({ forceMfa: false, hidePasswordReset: true, allowRegister: true });

  // Reset: the org follows the instance default again, and the next login shows it.
  await page.goto(j.url(`/ui/console/orgs/${org.id}/policies/login`));
  await page.getByRole('button', { name: 'Reset to the instance default' }).click();
  expect((await page.getByRole('status').innerText()).trim()).toBe('The organization follows the instance default again.');
  expect(await orgPolicyRows(org.id, 'login')).toHaveLength(0);
  expect(await nextLoginOffersRegistration(org.id, 'policy-reset')).toBe(false);

  // The other policies, each with its own page.
  for (const [link, name] of [
    ['Password complexity', 'password-complexity'],
    ['Lockout', 'lockout'],
    ['Domain policy', 'domain'],
    ['Notifications', 'notification'],
  ] as const) {
    await page.goto(j.url(`/ui/console/orgs/${org.id}/policies`));
    await page.getByRole('link', { name: new RegExp(`^${link}`) }).click();
    await j.check(name);
  }
  await page.goto(j.url(`/ui/console/orgs/${org.id}/policies/password_complexity`));
  await page.getByLabel('Minimum length').fill('0');
  await page.getByRole('button', { name: 'Save' }).click();
  await page.getByText('Please enter at least 1.').waitFor();
  await page.getByLabel('Minimum length').fill('12');
  await page.getByRole('button', { name: 'Save' }).click();
  expect((await page.getByRole('status').innerText()).trim()).toBe('The policy was saved.');
  expect((await orgPolicyRows(org.id, 'password_complexity'))[0].settings.minLength).toBe(12);

  // The instance defaults: the same editors.
  await page.goto(j.url('/ui/console/instance/policies/lockout'));
  await page.getByLabel('Wrong passwords before the account locks').fill('5');
  await page.getByRole('button', { name: 'Save' }).click();
  expect((await page.getByRole('status').innerText()).trim()).toBe('The policy was saved.');
  await j.check('instance-lockout');
  const instanceLockout = await db()('policies').where({ instance_id: w.inst.instanceId, kind: 'lockout' }).whereNull('org_id').first();
  expect(instanceLockout.settings.maxPasswordAttempts).toBe(5);
  expect(j.consoleErrors.filter((e) => !e.startsWith('Failed to load resource'))).toEqual([]);
  expect(Object.entries(j.violations).filter(([, v]) => v.length)).toEqual([]);
  await j.close();
}, 420_000);

test('an org owner edits the login policy but sees the domain policy read-only; instance pages are a 404', async () => {
  const org = await newOrg();
  const m = await manager(w.sys(), org.id, `owner${newId()}`, org.domain, ['ORG_OWNER']);
  const j = await ConsoleJourney.start(w, browser, 'policies-org-owner');
  await j.signIn(m.loginName, m.password);
  await j.page.goto(j.url(`/ui/console/orgs/${org.id}/policies/domain`));
  await j.page.getByText('Only an instance administrator may change the domain policy').waitFor();
  expect(await j.page.getByRole('button', { name: 'Save' }).count()).toBe(0);
  expect(await j.page.getByLabel('Domains need proof').isDisabled()).toBe(true);
  await j.check('domain-read-only');
  await j.page.goto(j.url(`/ui/console/orgs/${org.id}/policies/login`));
  expect(await j.page.getByRole('button', { name: 'Save' }).count()).toBe(1);
  expect((await j.page.goto(j.url('/ui/console/instance/policies')))!.status()).toBe(404);
  const other = await newOrg();
  expect((await j.page.goto(j.url(`/ui/console/orgs/${other.id}/policies/login`)))!.status()).toBe(404);
  expect(Object.entries(j.violations).filter(([, v]) => v.length)).toEqual([]);
  await j.close();
}, 240_000);

test('an org admin adds an OIDC identity provider, tests it, offers it on the login page and removes it', async () => {
  const org = await newOrg();
  const j = await ConsoleJourney.start(w, browser, 'idps');
  const { page } = j;
  await j.signIn(w.inst.adminLoginName, w.inst.adminPassword, `/ui/console/orgs/${org.id}`);
  await page.getByRole('navigation', { name: 'Console' }).getByRole('link', { name: 'Identity providers' }).click();
  await j.check('idps-empty');
  await page.getByRole('link', { name: 'Add identity provider' }).click();
  await j.check('idp-new');

  // Bad input first: one message per field, what was typed stays, nothing is added.
  await page.getByLabel('Issuer').fill('not a url');
  await page.getByLabel('Client ID').fill(up.clientId);
  await page.getByRole('button', { name: 'Add identity provider' }).click();
  await page.getByText('Please fill this in.').waitFor();
  await page.getByText('Please enter an http(s) address').waitFor();
  expect(await page.getByLabel('Client ID').inputValue()).toBe(up.clientId);
  await j.check('idp-new-invalid');
  expect(await db()('idps').where({ instance_id: w.inst.instanceId, org_id: org.id })).toHaveLength(0);

  await page.getByRole('textbox', { name: 'Name', exact: true }).fill('Upstream Corp');
  await page.getByLabel('Issuer').fill(up.issuer);
  await page.getByLabel('Client secret').fill(up.clientSecret);
  await page.getByLabel('Create accounts automatically').check();
  await page.getByRole('button', { name: 'Add identity provider' }).click();
  expect((await page.getByRole('status').innerText()).trim()).toBe('The identity provider Upstream Corp was added.');
  const [stored] = await db()('idps').where({ instance_id: w.inst.instanceId, org_id: org.id });
  expect(stored).toMatchObject({ name: 'Upstream Corp', issuer: up.issuer, client_id: up.clientId, is_auto_creation: true });
  expect(stored.client_secret_enc).not.toContain(up.clientSecret);

  // The test runs discovery against the upstream and says what it found.
  await page.getByRole('button', { name: 'Test' }).click();
  await page.getByText('The provider answered').waitFor();
  await page.getByText(`${up.issuer}/token`).first().waitFor();
  await j.check('idp-test-ok');

  // An issuer that does not answer: the test says what failed; the secret is kept when left empty.
  await page.getByLabel('Issuer').fill('http://127.0.0.1:9/nothing');
  await page.getByRole('button', { name: 'Save' }).click();
  expect((await page.getByRole('status').innerText()).trim()).toBe('The identity provider was saved.');
  await page.getByRole('button', { name: 'Test' }).click();
  await page.getByText('The discovery failed:').waitFor();
  await j.check('idp-test-failed');
  const after = await db()('idps').where({ instance_id: w.inst.instanceId, id: stored.id }).first();
  expect(after.client_secret_enc).toBe(stored.client_secret_enc);
  await page.getByLabel('Issuer').fill(up.issuer);
  await page.getByRole('button', { name: 'Save' }).click();

  // Offered on the login page once the login policy says so.
  await page.goto(j.url(`/ui/console/orgs/${org.id}/policies/login`));
  await page.getByLabel('Allow external identity providers').check();
  await page.getByLabel('Upstream Corp').check();
  await page.getByRole('button', { name: 'Save' }).click();
  expect((await page.getByRole('status').innerText()).trim()).toBe('The policy was saved.');
  const login = await newJourney(browser, w, 'idp-offered');
  await login.start(`openid urn:zitadel:iam:org:id:${org.id}`);
  await login.page.getByRole('link', { name: 'Continue with Upstream Corp' }).waitFor();
  await login.snap('login-name');
  await login.close();

  // Removing it says what goes with it.
  await page.goto(j.url(`/ui/console/orgs/${org.id}/idps/${stored.id}`));
  await page.getByRole('link', { name: 'Remove…' }).click();
  await page.getByText('the links of 0 users').waitFor();
  await j.check('idp-remove');
  await page.getByRole('button', { name: 'Remove the identity provider' }).click();
  expect((await page.getByRole('status').innerText()).trim()).toBe('The identity provider Upstream Corp was removed.');
  expect(await db()('idps').where({ instance_id: w.inst.instanceId, org_id: org.id })).toHaveLength(0);

  // The instance's identity providers: the same pages at instance level.
  await page.goto(j.url('/ui/console/instance/idps'));
  await j.check('instance-idps');
  expect(j.consoleErrors.filter((e) => !e.startsWith('Failed to load resource'))).toEqual([]);
  expect(Object.entries(j.violations).filter(([, v]) => v.length)).toEqual([]);
  await j.close();
}, 420_000);

/** A real 1×1 PNG, and one padded past the 512 KiB limit. */
const png = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==', 'base64');
const bigPng = Buffer.concat([png, Buffer.alloc(600 * 1024)]);

test('an uploaded logo shows on the login page; colours, bad files refused per field, mail preview', async () => {
  const org = await newOrg();
  const j = await ConsoleJourney.start(w, browser, 'branding');
  const { page } = j;
  await j.signIn(w.inst.adminLoginName, w.inst.adminPassword, `/ui/console/orgs/${org.id}`);
  await page.getByRole('navigation', { name: 'Console' }).getByRole('link', { name: 'Branding' }).click();
  await j.check('branding');

  await page.getByLabel('Primary colour (light)').fill('#0b7a3e');
  await page.getByLabel('Background (dark)').fill('#101010');
  await page.getByRole('button', { name: 'Save' }).click();
  expect((await page.getByRole('status').innerText()).trim()).toBe('The branding was saved.');
  expect((await orgPolicyRows(org.id, 'label'))[0].settings).toMatchObject({ primaryColor: '#0b7a3e', backgroundColorDark: '#101010' });

  // Bad files: each refused on its own field, and nothing is stored (not even the good one).
  await page.getByLabel('Logo for light mode').setInputFiles({ name: 'logo.txt', mimeType: 'text/plain', buffer: Buffer.from('not an image') });
  await page.getByLabel('Icon for light mode').setInputFiles({ name: 'icon.png', mimeType: 'image/png', buffer: bigPng });
  await page.getByLabel('Logo for dark mode').setInputFiles({ name: 'dark.png', mimeType: 'image/png', buffer: png });
  await page.getByRole('button', { name: 'Upload' }).click();
  await page.getByText('This type of file is not allowed here.').waitFor();
  await page.getByText('This file is too big: at most 512 KiB.').waitFor();
  expect(await page.getByLabel('Logo for light mode').getAttribute('aria-invalid')).toBe('true');
  await j.check('branding-bad-files');
  expect(await db()('label_assets').where({ instance_id: w.inst.instanceId, org_id: org.id })).toHaveLength(0);

  await page.getByLabel('Logo for light mode').setInputFiles({ name: 'logo.png', mimeType: 'image/png', buffer: png });
  await page.getByRole('button', { name: 'Upload' }).click();
  expect((await page.getByRole('status').innerText()).trim()).toBe('1 file uploaded.');
  await page.getByRole('img', { name: 'Logo (light)' }).waitFor();
  await j.check('branding-uploaded');

  // The next login of the org's users shows the logo, in the org's colour.
  const login = await newJourney(browser, w, 'branding-login');
  await login.start(`openid urn:zitadel:iam:org:id:${org.id}`);
  const logo = login.page.locator('img.logo');
  await logo.waitFor();
  expect(await logo.getAttribute('src')).toContain(`/ui/login/branding/${org.id}/logo_light`);
  expect(await logo.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth)).toBe(1);
  expect(await login.page.getByRole('button', { name: 'Next' }).evaluate((b) => getComputedStyle(b).backgroundColor)).toBe('rgb(11, 122, 62)');
  await login.snap('login-with-logo');
  await login.close();

  // The previews: the login page and a mail, in this branding.
  await page.getByRole('link', { name: 'Preview the login page' }).click();
  await page.locator('img.logo').waitFor();
  await page.goBack();
  await page.getByRole('link', { name: 'Preview a mail' }).click();
  await page.getByText('K7Q2XP').waitFor();
  await page.screenshot({ path: `${j.dir}/mail-preview.png`, fullPage: true });

  await page.goto(j.url('/ui/console/instance/branding'));
  await j.check('instance-branding');
  expect(j.consoleErrors.filter((e) => !e.startsWith('Failed to load resource'))).toEqual([]);
  expect(Object.entries(j.violations).filter(([, v]) => v.length)).toEqual([]);
  await j.close();
}, 420_000);

test('an instance admin sends an SMTP test mail (caught by an in-process SMTP server), sets token lifetimes and deletes an org', async () => {
  const j = await ConsoleJourney.start(w, browser, 'instance-admin');
  const { page } = j;
  page.on('dialog', (d) => void d.accept());
  await j.signIn(w.inst.adminLoginName, w.inst.adminPassword);
  await page.getByRole('navigation', { name: 'Console' }).getByRole('link', { name: 'Instance' }).click();
  await j.check('instance');
  await page.getByRole('link', { name: /^Settings The instance/ }).click();
  await j.check('instance-settings');

  // The test mail goes out through the stored settings and arrives.
  const to = `ops${newId()}@example.com`;
  await page.getByLabel('Send to').fill(to);
  await page.getByRole('button', { name: 'Send a test mail' }).click();
  await page.getByRole('status').getByText(`The test mail to ${to} was accepted by the server`).waitFor();
  await j.check('smtp-test-sent');
  const mail = await w.smtp.waitFor(to);
  expect(mail.subject).toBe('Tessera SMTP test');

  // Bad input: messages on the fields, values kept, nothing saved.
  const before = await db()('instances').where({ id: w.inst.instanceId }).first();
  await page.getByLabel('Port').fill('70000');
  await page.getByLabel('Sender address').fill('not-an-address');
  await page.getByRole('button', { name: 'Save' }).nth(2).click();
  await page.getByText('Please enter an email address like name@example.com.').waitFor();
  expect(await page.getByLabel('Port').getAttribute('aria-invalid')).toBe('true');
  expect(await page.getByLabel('Sender address').inputValue()).toBe('not-an-address');
  await j.check('smtp-invalid');
  expect((await db()('instances').where({ id: w.inst.instanceId }).first()).version).toBe(before.version);

  // A server that does not answer: the test says what failed.
  await page.goto(j.url('/ui/console/instance/settings'));
  await page.getByLabel('Port').fill('9');
  await page.getByRole('button', { name: 'Save' }).nth(2).click();
  expect((await page.getByRole('status').innerText()).trim()).toBe('The settings were saved.');
  await page.getByLabel('Send to').fill(to);
  await page.getByRole('button', { name: 'Send a test mail' }).click();
  await page.getByRole('alert').getByText('The test mail was not sent.').waitFor();
  await j.check('smtp-test-failed');
  await page.getByLabel('Port').fill(String(w.smtp.port));
  await page.getByRole('button', { name: 'Save' }).nth(2).click();
  expect((await db()('instances').where({ id: w.inst.instanceId }).first()).smtp_port).toBe(w.smtp.port);

  // Token lifetimes.
  await page.getByLabel('Access token').fill('7200');
  await page.getByRole('button', { name: 'Save' }).nth(1).click();
  expect((await page.getByRole('status').innerText()).trim()).toBe('The settings were saved.');
  expect((await db()('instances').where({ id: w.inst.instanceId }).first()).access_token_lifetime_s).toBe(7200);

  // The org list: deactivate, then delete after a confirmation that counts what goes.
  const doomed = await newOrg();
  await manager(w.sys(), doomed.id, `gone${newId()}`, doomed.domain, ['ORG_OWNER']);
  await page.goto(j.url(`/ui/console/instance/orgs?q=${doomed.domain}`));
  await j.check('instance-orgs');
  await page.getByRole('button', { name: `Deactivate organization Org ${doomed.domain}` }).click();
  expect((await page.getByRole('status').innerText()).trim()).toBe(`Org ${doomed.domain} was deactivated.`);
  await page.goto(j.url(`/ui/console/instance/orgs?q=${doomed.domain}`));
  await page.getByRole('link', { name: `Delete… Org ${doomed.domain}` }).click();
  await page.getByText('1 users, with their sessions, factors and links').waitFor();
  await page.getByText('1 manager roles in it').waitFor();
  await j.check('org-delete');
  await page.getByRole('button', { name: 'Delete the organization' }).click();
  expect((await page.getByRole('status').innerText()).trim()).toBe(`Org ${doomed.domain} was deleted.`);
  expect(await db()('orgs').where({ instance_id: w.inst.instanceId, id: doomed.id })).toHaveLength(0);
  expect(j.consoleErrors.filter((e) => !e.startsWith('Failed to load resource'))).toEqual([]);
  expect(Object.entries(j.violations).filter(([, v]) => v.length)).toEqual([]);
  await j.close();
}, 420_000);
