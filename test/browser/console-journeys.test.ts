import type { Browser, Page } from 'playwright-core';
import { loginWorld, type LoginWorld } from '../integration/login-support.js';
import { manager } from '../integration/console-support.js';
import { addOrg, addProject } from '../support/rp.js';
import { newId } from '../../src/shared/ids.js';
import { launchChromium } from './browser-support.js';
import { ConsoleJourney } from './console-support.js';
import { startWebApp } from './web-app.js';

/**
 * The console's journeys, done the way a real admin would: clicks and typing in Chromium, through
 * the instance's own login, with every page screenshotted (test-artifacts/console/) and checked
 * with axe-core. Set-up the journey is not about (a second org, a manager with a password) is
 * done with the domain services; everything the journey is about is done in the browser.
 */
let w: LoginWorld;
let browser: Browser;
beforeAll(async () => {
  [w, browser] = await Promise.all([loginWorld('Umbrella'), launchChromium()]);
}, 120_000);
afterAll(async () => {
  await browser?.close();
  await w?.close();
});

const db = () => w.rt.db.knex;
const I = () => w.inst.instanceId;
/** The machine running these is shared and loaded: generous waits, never fixed sleeps. */
const WAIT = 120_000;

async function start(name: string, opts: { width?: number } = {}): Promise<ConsoleJourney> {
  const j = await ConsoleJourney.start(w, browser, name, opts);
  j.context.setDefaultTimeout(WAIT);
  j.context.setDefaultNavigationTimeout(WAIT);
  // Destructive buttons ask first (console.js); the admin says yes.
  j.page.on('dialog', (d) => void d.accept());
  return j;
}

const nav = (page: Page) => page.getByRole('navigation', { name: 'Console' });
const h1 = async (page: Page) => (await page.getByRole('heading', { level: 1 }).innerText()).trim();
const status = async (page: Page) => (await page.getByRole('status').first().innerText()).trim();
const violations = (...js: ConsoleJourney[]) => js.flatMap((j) => Object.entries(j.violations).filter(([, v]) => v.length));

/**
 * A POST from the signed-in browser itself (its cookies, its origin), with the CSRF token of the
 * page it is on, as a hand-made form would send it: the status it gets.
 */
async function postFromPage(page: Page, path: string, form: Record<string, string>): Promise<number> {
  const csrf = await page.locator('input[name="_csrf"]').first().getAttribute('value');
  if (!csrf) throw new Error(`no CSRF token on ${page.url()}`);
  return page.evaluate(async ([to, body]) => (await fetch(to, { method: 'POST', body: new URLSearchParams(body), redirect: 'manual' })).status, [
    path,
    { _csrf: csrf, ...form },
  ] as const);
}

test('the first admin creates an org, a project, a web app and a user in the console; that user signs in to the app', async () => {
  const app = await startWebApp();
  const j = await start('journey-first-admin');
  const { page } = j;
  try {
    // From the front door to the console, with the login name printed at the first start.
    await page.goto(j.url('/'));
    await page.getByRole('link', { name: /Console/ }).click();
    await page.getByLabel('Login name or email').fill(w.inst.adminLoginName);
    await page.getByRole('button', { name: 'Next' }).click();
    await page.getByLabel('Password').fill(w.inst.adminPassword);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.waitForURL(j.url(`/ui/console/orgs/${w.inst.orgId}`));

    // An organization.
    await nav(page).getByRole('link', { name: 'Organizations' }).click();
    await page.getByRole('textbox', { name: 'Name', exact: true }).fill('Initech');
    await page.getByRole('button', { name: 'Create organization' }).click();
    await page.waitForURL(/\/ui\/console\/orgs\/\d+$/);
    const orgId = page.url().split('/').pop()!;
    expect(await status(page)).toBe('Organization Initech created.');
    await j.check('org-created');

    // A project with a role, whose tokens carry the roles.
    await nav(page).getByRole('link', { name: 'Projects' }).click();
    await page.getByLabel("New project's name").fill('Portal');
    await page.getByRole('button', { name: 'Create project' }).click();
    await page.getByRole('heading', { level: 1, name: 'Portal' }).waitFor();
    const projectId = /\/projects\/(\d+)/.exec(page.url())![1];
    await page.getByLabel('Roles in tokens').check();
    await page.getByRole('button', { name: 'Save' }).click();
    expect(await status(page)).toBe("The project's settings were saved.");
    await j.check('project');
    await page.getByRole('navigation', { name: 'Project' }).getByRole('link', { name: 'Roles' }).click();
    await page.getByLabel('Key').fill('reader');
    await page.getByLabel('Display name').fill('Reader');
    await page.getByRole('button', { name: 'Add role' }).click();
    expect(await status(page)).toBe('The role reader was added.');
    await j.check('project-roles');

    // A web app: a bad redirect URI first (the form keeps what was typed), then the app's own.
    await page.getByRole('navigation', { name: 'Project' }).getByRole('link', { name: 'Applications' }).click();
    await page.getByRole('link', { name: 'New application' }).click();
    await page.getByRole('textbox', { name: 'Name', exact: true }).fill('Portal web');
    await page.getByRole('textbox', { name: 'Redirect URIs', exact: true }).fill('http://portal.example/callback');
    await page.getByLabel('Profile in the ID token').check();
    await page.getByLabel('Roles in the ID token').check();
    await page.getByRole('button', { name: 'Create application' }).click();
    await page.locator('#f-app-redirectUris-error').waitFor();
    expect(await page.getByRole('textbox', { name: 'Name', exact: true }).inputValue()).toBe('Portal web');
    expect(await page.getByLabel('Profile in the ID token').isChecked()).toBe(true);
    expect(await page.getByLabel('Roles in the ID token').isChecked()).toBe(true);
    await j.check('app-new-invalid');
    expect(await db()('applications').where({ instance_id: I(), project_id: projectId })).toHaveLength(0);
    await page.getByRole('textbox', { name: 'Redirect URIs', exact: true }).fill(app.redirectUri);
    await page.getByRole('button', { name: 'Create application' }).click();
    await page.getByText('it is shown only this once').waitFor();
    const clientId = await page.getByLabel('Client ID').inputValue();
    const clientSecret = await page.getByLabel('Client secret').inputValue();
    await j.check('app-secret');
    await page.getByRole('link', { name: 'Done, back to the application' }).click();
    await page.getByText('set (it is never shown again)').waitFor();
    await j.check('app');

    // A user, invited by mail, given the role.
    await nav(page).getByRole('link', { name: 'Users' }).click();
    await page.getByRole('link', { name: 'New user', exact: true }).click();
    await page.getByLabel('Username').fill('peter');
    await page.getByLabel('Email').fill('peter@initech.example');
    await page.getByLabel('Given name').fill('Peter');
    await page.getByLabel('Family name').fill('Gibbons');
    await page.getByRole('button', { name: 'Create and send invitation' }).click();
    expect(await status(page)).toBe('The user was created and an invitation was sent to peter@initech.example.');
    const peterId = /\/users\/(\d+)/.exec(page.url())![1];
    const loginName = (await page.locator('h1').innerText()).trim();
    expect(loginName).toMatch(/^peter@/);
    await j.check('user');
    await nav(page).getByRole('link', { name: 'Authorizations' }).click();
    await page.getByRole('link', { name: 'New authorization' }).click();
    await page.getByRole('textbox', { name: 'User', exact: true }).fill('peter');
    await page.getByLabel('Project').selectOption({ label: 'Portal' });
    await page.getByRole('button', { name: 'Next: roles' }).click();
    await page.getByLabel('Reader (reader)').check();
    await page.getByRole('button', { name: 'Give the roles' }).click();
    expect(await status(page)).toContain('got the roles.');
    await j.check('authorization');

    // Peter follows the invitation, sets a password, and signs in to the web app.
    await app.configure(w.issuer, clientId, clientSecret);
    const mail = await w.smtp.waitFor('peter@initech.example');
    const link = /http:\/\/\S+\/ui\/login\/init\?user=\d+&(amp;)?code=\w+/.exec(mail.text)![0].replace('&amp;', '&');
    const peter = await start('journey-app-user');
    await peter.page.goto(link);
    await peter.page.getByLabel('New password').fill('Peter-Passw0rd!');
    await peter.page.getByLabel('Repeat the password').fill('Peter-Passw0rd!');
    await peter.page.getByRole('button', { name: 'Set password' }).click();
    await peter.page.waitForLoadState();
    await peter.page.goto(app.loginUrl);
    await peter.page.getByLabel('Login name or email').fill(loginName);
    await peter.page.getByRole('button', { name: 'Next' }).click();
    await peter.page.getByLabel('Password').fill('Peter-Passw0rd!');
    await peter.page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await peter.page.getByRole('heading', { name: 'Signed in to the web app' }).waitFor();
    await peter.close();
    const claims = app.claims()!;
    expect(claims.sub).toBe(peterId);
    expect([claims.aud].flat()).toContain(clientId);
    expect(claims.email).toBe('peter@initech.example');
    expect(claims.email_verified).toBe(true);
    expect(claims.given_name).toBe('Peter');
    expect(claims.family_name).toBe('Gibbons');
    const orgDomain = loginName.split('@')[1];
    expect(claims['urn:zitadel:iam:org:project:roles']).toEqual({ reader: { [orgId]: orgDomain } });

    expect(j.consoleErrors.filter((e) => !e.startsWith('Failed to load resource'))).toEqual([]);
    expect(violations(j)).toEqual([]);
  } finally {
    await j.close();
    await app.close();
  }
}, 600_000);

test('an ORG_USER_MANAGER, made one in the console, sees no project pages; a typed project URL and a project POST are 404', async () => {
  const orgDomain = w.inst.adminLoginName.split('@')[1];
  const project = await addProject(w.inst.scope, w.inst.orgId, { name: 'Payroll', roles: ['clerk'] });
  const projectUrl = `/ui/console/orgs/${w.inst.orgId}/projects/${project.projectId}`;
  const olga = await manager(w.sys(), w.inst.orgId, `olga${newId()}`, orgDomain);

  // The admin makes Olga a user manager, with the role picker.
  const admin = await start('journey-make-user-manager');
  await admin.signIn(w.inst.adminLoginName, w.inst.adminPassword);
  await nav(admin.page).getByRole('link', { name: 'Managers' }).click();
  await admin.page.getByRole('textbox', { name: 'User', exact: true }).fill(olga.loginName.split('@')[0]);
  await admin.page.getByLabel('ORG_USER_MANAGER', { exact: true }).check();
  await admin.check('managers-add');
  await admin.page.getByRole('button', { name: 'Add manager' }).click();
  expect(await status(admin.page)).toContain('is now a manager here.');
  await admin.check('managers');
  // The project page is real: the 404 below means "not for you", not "not there".
  expect((await admin.page.goto(admin.url(projectUrl)))!.status()).toBe(200);
  await admin.close();

  const j = await start('journey-user-manager');
  const { page } = j;
  await j.signIn(olga.loginName, olga.password);
  await nav(page).getByRole('link', { name: 'Users' }).waitFor();
  await j.check('overview');
  expect(await nav(page).getByRole('link', { name: 'Projects' }).count()).toBe(0);
  expect(await page.getByRole('main').getByRole('link', { name: 'Projects', exact: true }).count()).toBe(0);
  await nav(page).getByRole('link', { name: 'Users' }).click();
  await page.getByRole('link', { name: 'New user', exact: true }).waitFor();
  await j.check('users');
  for (const path of [projectUrl, `${projectUrl}/apps`, `${projectUrl}/roles`, `/ui/console/orgs/${w.inst.orgId}/projects`]) {
    const res = await page.goto(j.url(path));
    expect([path, res!.status()]).toEqual([path, 404]);
    expect(await h1(page)).toBe('Page not found');
  }
  await j.check('project-404');
  // Back on a page of hers, a forged POST with her own CSRF token changes nothing.
  await page.goto(j.url(`/ui/console/orgs/${w.inst.orgId}/users`));
  expect(await postFromPage(page, `${projectUrl}/settings`, { name: 'Taken over', privateLabelingSetting: 'unspecified' })).toBe(404);
  expect(await postFromPage(page, `${projectUrl}/roles`, { key: 'boss', displayName: 'Boss' })).toBe(404);
  const row = await db()('projects').where({ instance_id: I(), id: project.projectId }).first();
  expect(row.name).toBe('Payroll');
  expect(await db()('project_roles').where({ instance_id: I(), project_id: project.projectId })).toHaveLength(1);
  expect(violations(admin, j)).toEqual([]);
  await j.close();
}, 600_000);

test("a granted org's admin sees the granted project read-only: no change offered, changes posted by hand refused", async () => {
  const domain = `globex${newId()}.example`;
  const globex = await addOrg(w.inst.scope, 'Globex', domain);
  const gus = await manager(w.sys(), globex, `gus${newId()}`, domain, ['ORG_OWNER']);
  const ledger = await addProject(w.inst.scope, w.inst.orgId, { name: 'Ledger', roles: ['viewer', 'editor'] });
  const ledgerUrl = (orgId: string) => `/ui/console/orgs/${orgId}/projects/${ledger.projectId}`;

  // The owner's admin grants Ledger to Globex with one of its two roles.
  const admin = await start('journey-grant');
  await admin.signIn(w.inst.adminLoginName, w.inst.adminPassword, ledgerUrl(w.inst.orgId));
  await admin.page.getByRole('navigation', { name: 'Project' }).getByRole('link', { name: 'Grants' }).click();
  await admin.page.getByLabel("The organization's domain").fill(domain);
  await admin.page.getByLabel('viewer (viewer)').check();
  await admin.page.getByRole('button', { name: 'Grant the project' }).click();
  expect(await status(admin.page)).toBe('The project was granted to Globex.');
  await admin.check('project-grants');
  await admin.close();

  const j = await start('journey-granted-org');
  const { page } = j;
  await j.signIn(gus.loginName, gus.password);
  await nav(page).getByRole('link', { name: 'Received grants' }).click();
  await j.check('received-grants');
  await page.getByRole('link', { name: 'Ledger' }).click();
  await page.waitForURL(/\/granted\/\d+$/);
  const grantId = page.url().split('/').pop()!;
  expect(await page.getByRole('note').innerText()).toContain('you see it read-only');
  const main = page.getByRole('main');
  expect(await main.locator('tbody code').allInnerTexts()).toEqual(['viewer']);
  // Read-only: nothing on the page changes the project; giving its role to users is what is offered.
  expect(await main.locator('form[method="post"]').count()).toBe(0);
  expect(await main.getByRole('button').count()).toBe(0);
  await main.getByRole('link', { name: 'Give a role to a user' }).waitFor();
  await j.check('granted-project');

  // The owner's pages of the project are not Globex's: 404, typed by hand or through its own org.
  for (const path of [ledgerUrl(w.inst.orgId), ledgerUrl(globex), `${ledgerUrl(globex)}/roles`, `${ledgerUrl(w.inst.orgId)}/grants/${grantId}`]) {
    expect([path, (await page.goto(j.url(path)))!.status()]).toEqual([path, 404]);
  }
  await j.check('owner-pages-404');
  await page.goto(j.url(`/ui/console/orgs/${globex}/granted/${grantId}`));
  const grant = await db()('project_grants').where({ instance_id: I(), id: grantId }).first();
  for (const [path, form] of [
    [`${ledgerUrl(w.inst.orgId)}/roles`, { key: 'hacker', displayName: 'Hacker' }],
    [`${ledgerUrl(globex)}/settings`, { name: 'Ours now', privateLabelingSetting: 'unspecified' }],
    [`${ledgerUrl(w.inst.orgId)}/grants/${grantId}`, { roleKeys: 'editor', version: String(grant.version ?? 1) }],
    [`${ledgerUrl(w.inst.orgId)}/delete`, {}],
  ] as const) {
    expect([path, await postFromPage(page, path, form)]).toEqual([path, 404]);
  }
  expect((await db()('projects').where({ instance_id: I(), id: ledger.projectId }).first()).name).toBe('Ledger');
  expect((await db()('project_roles').where({ instance_id: I(), project_id: ledger.projectId })).map((r) => r.key).sort()).toEqual(['editor', 'viewer']);
  expect((await db()('project_grants').where({ instance_id: I(), id: grantId }).first()).role_keys).toEqual(['viewer']);
  expect(violations(admin, j)).toEqual([]);
  await j.close();
}, 600_000);

test('a manager of several orgs switches org context, and sees each org with the roles held there', async () => {
  const mk = async (name: string) => {
    const domain = `${name.toLowerCase()}${newId()}.example`;
    return { id: await addOrg(w.inst.scope, name, domain), domain, name };
  };
  const [hooli, piper, raviga] = [await mk('Hooli'), await mk('Pied Piper'), await mk('Raviga')];
  const rick = await manager(w.sys(), hooli.id, `rick${newId()}`, hooli.domain, ['ORG_OWNER']);
  const gilfoyle = await manager(w.sys(), piper.id, `gilfoyle${newId()}`, piper.domain);

  // The instance admin adds Rick, of Hooli, as a user manager of Pied Piper: by exact login name.
  const admin = await start('journey-add-foreign-manager');
  await admin.signIn(w.inst.adminLoginName, w.inst.adminPassword, `/ui/console/orgs/${piper.id}/managers`);
  await admin.page.getByRole('textbox', { name: 'User', exact: true }).fill(rick.loginName);
  await admin.page.getByLabel('ORG_USER_MANAGER', { exact: true }).check();
  await admin.page.getByRole('button', { name: 'Add manager' }).click();
  expect(await status(admin.page)).toContain('is now a manager here.');
  await admin.close();

  const j = await start('journey-switch-org', { width: 420 });
  const { page } = j;
  await j.signIn(rick.loginName, rick.password);
  expect(new URL(page.url()).pathname).toBe(`/ui/console/orgs/${hooli.id}`);
  await nav(page).getByRole('link', { name: 'Projects' }).waitFor();
  await j.check('hooli');
  const switcher = page.getByLabel('Organization', { exact: true });
  expect(await switcher.locator('option').allTextContents()).toEqual(expect.arrayContaining(['Hooli', 'Pied Piper']));
  expect(await switcher.locator('option').allTextContents()).not.toContain('Raviga');
  await switcher.selectOption({ label: 'Pied Piper' });
  await page.getByRole('button', { name: 'Switch' }).click();
  await page.waitForURL(j.url(`/ui/console/orgs/${piper.id}`));
  expect(await h1(page)).toBe('Pied Piper');
  // In Pied Piper Rick manages users only.
  expect(await nav(page).getByRole('link', { name: 'Projects' }).count()).toBe(0);
  await nav(page).getByRole('link', { name: 'Users' }).click();
  await page.getByRole('link', { name: new RegExp(`^${gilfoyle.loginName.split('@')[0]}@`) }).waitFor();
  expect(await page.getByRole('link', { name: new RegExp(`^${rick.loginName.split('@')[0]}@`) }).count()).toBe(0);
  await j.check('piper-users');
  // Remembered for the next visit; and back to Hooli with the switcher.
  await page.goto(j.url('/ui/console'));
  await page.waitForURL(j.url(`/ui/console/orgs/${piper.id}`));
  await page.getByLabel('Organization', { exact: true }).selectOption({ label: 'Hooli' });
  await page.getByRole('button', { name: 'Switch' }).click();
  await page.waitForURL(j.url(`/ui/console/orgs/${hooli.id}`));
  await nav(page).getByRole('link', { name: 'Projects' }).waitFor();
  // An org of the instance he holds nothing in is a 404.
  expect((await page.goto(j.url(`/ui/console/orgs/${raviga.id}`)))!.status()).toBe(404);
  expect(violations(j)).toEqual([]);
  await j.close();
}, 600_000);
