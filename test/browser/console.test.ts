import type { Browser } from 'playwright-core';
import { addMember } from '../../src/domain/membership/service.js';
import { updateUserProfile } from '../../src/domain/user/service.js';
import { loginWorld, type LoginWorld } from '../integration/login-support.js';
import { manager } from '../integration/console-support.js';
import { addOrg, addProject } from '../support/rp.js';
import { newId } from '../../src/shared/ids.js';
import { launchChromium } from './browser-support.js';
import { ConsoleJourney } from './console-support.js';

/**
 * The console in Chromium, done the way an admin would: from the front door, through the
 * instance's own login, to the pages. Every page is screenshotted (test-artifacts/console/) and
 * checked with axe-core: no serious or critical violation anywhere.
 */
let w: LoginWorld;
let browser: Browser;
beforeAll(async () => {
  [w, browser] = await Promise.all([loginWorld('Acme'), launchChromium()]);
}, 60_000);
afterAll(async () => {
  await browser?.close();
  await w?.close();
});

const db = () => w.rt.db.knex;

test('the first admin goes from / to the console, creates an org and a user, and that user signs in', async () => {
  const j = await ConsoleJourney.start(w, browser, 'first-admin');
  const { page } = j;
  await page.goto(j.url('/'));
  await j.check('front-door');
  await page.getByRole('link', { name: /Console/ }).click();
  await page.getByLabel('Login name or email').fill(w.inst.adminLoginName);
  await page.getByRole('button', { name: 'Next' }).click();
  await page.getByLabel('Password').fill(w.inst.adminPassword);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.waitForURL(j.url(`/ui/console/orgs/${w.inst.orgId}`));
  await j.check('org-home');

  // A new organization.
  await page.getByRole('navigation', { name: 'Console' }).getByRole('link', { name: 'Organizations' }).click();
  await j.check('orgs');
  await page.getByRole('textbox', { name: 'Name', exact: true }).fill('Globex');
  await page.getByRole('button', { name: 'Create organization' }).click();
  await page.waitForURL(/\/ui\/console\/orgs\/\d+$/);
  const globex = page.url().split('/').pop()!;
  await j.check('globex-home');
  await page.getByRole('navigation', { name: 'Console' }).getByRole('link', { name: 'Organization', exact: true }).click();
  await page.getByLabel('Add a domain').fill('globex.example');
  await page.getByRole('button', { name: 'Add', exact: true }).click();
  await j.check('org-settings');
  const record = await db()('org_domains').where({ instance_id: w.inst.instanceId, org_id: globex, domain: 'globex.example' }).first();
  await page.getByText(`_tessera-challenge.globex.example`).waitFor();
  await page.getByText(record.validation_code).waitFor();

  // A new user: bad input first. The form comes back with what was typed and one message per field.
  await page.getByRole('navigation', { name: 'Console' }).getByRole('link', { name: 'Users' }).click();
  await j.check('users');
  await page.getByRole('link', { name: 'New user', exact: true }).click();
  await page.getByLabel('Email').fill('not-an-email');
  await page.getByLabel('Given name').fill('Jane');
  await page.getByRole('button', { name: 'Create and send invitation' }).click();
  await page.getByText('Please fill this in.').waitFor();
  await page.getByText('Please enter an email address like name@example.com.').waitFor();
  expect(await page.getByLabel('Email').inputValue()).toBe('not-an-email');
  expect(await page.getByLabel('Given name').inputValue()).toBe('Jane');
  expect(await page.getByLabel('Username').getAttribute('aria-invalid')).toBe('true');
  await j.check('user-new-invalid');
  expect(await db()('users').where({ instance_id: w.inst.instanceId, org_id: globex })).toHaveLength(0);

  await page.getByLabel('Username').fill('jane');
  await page.getByLabel('Email').fill('jane@globex.example');
  await page.getByLabel('Family name').fill('Doe');
  await page.getByRole('button', { name: 'Create and send invitation' }).click();
  expect((await page.getByRole('status').innerText()).trim()).toBe('The user was created and an invitation was sent to jane@globex.example.');
  expect((await page.getByRole('heading', { level: 1 }).innerText()).trim()).toMatch(/^jane@globex\./);
  await j.check('user');
  const jane = await db()('users').where({ instance_id: w.inst.instanceId, org_id: globex, username: 'jane' }).first();
  expect(jane.state).toBe('initial');

  // The same username again is refused on its field, and nothing is added.
  await page.goto(j.url(`/ui/console/orgs/${globex}/users/new`));
  await page.getByLabel('Username').fill('jane');
  await page.getByLabel('Email').fill('jane2@globex.example');
  await page.getByRole('button', { name: 'Create and send invitation' }).click();
  await page.getByText('This username is already taken.').waitFor();
  expect(await db()('users').where({ instance_id: w.inst.instanceId, org_id: globex })).toHaveLength(1);

  // A stale edit: someone else changes Jane while the admin has her page open.
  await page.goto(j.url(`/ui/console/orgs/${globex}/users/${jane.id}`));
  await page.getByLabel('Display name').fill('Jane from the console');
  await updateUserProfile(w.sys(), jane.id, { displayName: 'Jane from the API' });
  await page.getByRole('button', { name: 'Save' }).click();
  expect(await page.getByRole('alert').innerText()).toContain('Someone else changed this in the meantime');
  expect(await page.getByLabel('Display name').inputValue()).toBe('Jane from the console');
  await j.check('user-stale');
  expect((await db()('users').where({ instance_id: w.inst.instanceId, id: jane.id }).first()).display_name).toBe('Jane from the API');

  // A machine user: its secret is shown once; deleting it says what goes with it.
  await page.goto(j.url(`/ui/console/orgs/${globex}/users/new?type=machine`));
  await j.check('machine-new');
  await page.getByLabel('Username').fill('reporter');
  await page.getByRole('textbox', { name: 'Name', exact: true }).fill('Reporting job');
  await page.getByRole('button', { name: 'Create machine user' }).click();
  await page.getByRole('button', { name: 'Generate a new secret' }).click();
  await page.getByText('it is shown only this once').waitFor();
  const secret = await page.getByLabel('Client secret').inputValue();
  expect(secret.length).toBeGreaterThan(20);
  await j.check('machine-secret');
  await page.getByRole('link', { name: 'Done, back to the user' }).click();
  await page.getByText('A client secret is set.').waitFor();
  await page.getByRole('link', { name: 'Delete…' }).click();
  await page.getByText('0 keys and 0 personal access tokens').waitFor();
  await j.check('user-delete');
  await page.getByRole('button', { name: 'Delete the user' }).click();
  expect((await page.getByRole('status').innerText()).trim()).toBe('The user reporter was deleted.');

  // German, for one page.
  const de = await ConsoleJourney.start(w, browser, 'first-admin-de', { locale: 'de-DE' });
  await de.signIn(w.inst.adminLoginName, w.inst.adminPassword, `/ui/console/orgs/${globex}/users`);
  expect((await de.page.getByRole('heading', { level: 1 }).innerText()).trim()).toBe('Benutzer');
  await de.check('users-de');
  await de.close();

  // Sign out: the provider asks, then the console says goodbye.
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByRole('button', { name: 'Yes, sign me out' }).click();
  await page.waitForURL(j.url('/ui/console/signed-out'));
  await j.check('signed-out');
  // Nothing blocked by the content security policy (the 4xx of re-rendered forms are expected).
  expect(j.consoleErrors.filter((e) => !e.startsWith('Failed to load resource'))).toEqual([]);
  await j.close();

  // Jane follows the invitation, sets her password and signs in; she manages nothing (yet).
  const mail = await w.smtp.waitFor('jane@globex.example');
  const link = /http:\/\/\S+\/ui\/login\/init\?user=\d+&(amp;)?code=\w+/.exec(mail.text)![0].replace('&amp;', '&');
  const janeJ = await ConsoleJourney.start(w, browser, 'invited-user');
  await janeJ.page.goto(link);
  await janeJ.page.getByLabel('New password').fill('Jane-Passw0rd!');
  await janeJ.page.getByLabel('Repeat the password').fill('Jane-Passw0rd!');
  await janeJ.page.getByRole('button', { name: 'Set password' }).click();
  const janeLogin = `jane@${(await db()('org_domains').where({ instance_id: w.inst.instanceId, org_id: globex, is_primary: true }).first()).domain}`;
  // The code from the mail proved her address: no verification step at this login.
  await janeJ.signIn(janeLogin, 'Jane-Passw0rd!');
  expect((await janeJ.page.getByRole('heading', { level: 1 }).innerText()).trim()).toBe('Nothing to manage');
  await janeJ.check('nothing-to-manage');
  await janeJ.close();

  expect(
    Object.entries(j.violations)
      .concat(Object.entries(de.violations), Object.entries(janeJ.violations))
      .filter(([, v]) => v.length),
  ).toEqual([]);
}, 180_000);

test('an ORG_USER_MANAGER sees no project pages and gets a 404 page for a project URL', async () => {
  const project = await addProject(w.inst.scope, w.inst.orgId, { name: 'Billing', roles: ['viewer'] });
  const projectUrl = `/ui/console/orgs/${w.inst.orgId}/projects/${project.projectId}`;
  const orgDomain = w.inst.adminLoginName.split('@')[1];

  // The admin sees the project: the URL is a real page, so the 404 below means "not for you".
  const admin = await ConsoleJourney.start(w, browser, 'project-admin');
  await admin.signIn(w.inst.adminLoginName, w.inst.adminPassword);
  await admin.page.getByRole('navigation', { name: 'Console' }).getByRole('link', { name: 'Projects' }).click();
  await admin.check('projects');
  await admin.page.goto(admin.url(projectUrl));
  expect((await admin.page.getByRole('heading', { level: 1 }).innerText()).trim()).toBe('Billing');
  await admin.check('project');
  await admin.close();

  const m = await manager(w.sys(), w.inst.orgId, `um${newId()}`, orgDomain, ['ORG_USER_MANAGER']);
  const j = await ConsoleJourney.start(w, browser, 'user-manager');
  await j.signIn(m.loginName, m.password);
  const nav = j.page.getByRole('navigation', { name: 'Console' });
  await nav.getByRole('link', { name: 'Users' }).waitFor();
  expect(await nav.getByRole('link', { name: 'Projects' }).count()).toBe(0);
  await nav.getByRole('link', { name: 'Organization', exact: true }).waitFor(); // org.read
  // The users list offers creation (user.write); the org page offers no change (no org.write).
  await nav.getByRole('link', { name: 'Organization', exact: true }).click();
  expect(await j.page.getByRole('button', { name: /Deactivate/ }).count()).toBe(0);
  await j.check('org-read-only');
  const res = await j.page.goto(j.url(projectUrl));
  expect(res!.status()).toBe(404);
  expect((await j.page.getByRole('heading', { level: 1 }).innerText()).trim()).toBe('Page not found');
  await j.check('project-404');
  expect((await j.page.goto(j.url(`/ui/console/orgs/${w.inst.orgId}/projects`)))!.status()).toBe(404);
  expect(Object.values(admin.violations).concat(Object.values(j.violations)).flat()).toEqual([]);
  await j.close();
}, 90_000);

test('a manager of two orgs switches between them; a third org answers 404', async () => {
  const [a, b, c] = await Promise.all(
    ['a', 'b', 'c'].map(async (x) => {
      const domain = `${x}${newId()}.example`;
      return { id: await addOrg(w.inst.scope, `Org ${x.toUpperCase()} ${domain}`, domain), domain };
    }),
  );
  const m = await manager(w.sys(), a.id, `two${newId()}`, a.domain, ['ORG_OWNER']);
  await addMember(w.sys(), { userId: m.id, level: 'org', orgId: b.id, roles: ['ORG_USER_MANAGER'] });
  const j = await ConsoleJourney.start(w, browser, 'two-orgs', { width: 420 });
  await j.signIn(m.loginName, m.password);
  expect(new URL(j.page.url()).pathname).toBe(`/ui/console/orgs/${a.id}`);
  await j.check('org-a-narrow');
  const switcher = j.page.getByLabel('Organization', { exact: true });
  expect(await switcher.locator('option').allTextContents()).toEqual([`Org A ${a.domain}`, `Org B ${b.domain}`]);
  await switcher.selectOption(b.id);
  await j.page.getByRole('button', { name: 'Switch' }).click();
  await j.page.waitForURL(j.url(`/ui/console/orgs/${b.id}`));
  expect((await j.page.getByRole('heading', { level: 1 }).innerText()).trim()).toBe(`Org B ${b.domain}`);
  await j.check('org-b');
  // The console remembers the org in context.
  await j.page.goto(j.url('/ui/console'));
  await j.page.waitForURL(j.url(`/ui/console/orgs/${b.id}`));
  const res = await j.page.goto(j.url(`/ui/console/orgs/${c.id}/users`));
  expect(res!.status()).toBe(404);
  expect(Object.values(j.violations).flat()).toEqual([]);
  await j.close();
}, 90_000);
