import type { Browser } from 'playwright-core';
import { addMember } from '../../src/domain/membership/service.js';
import { createHumanUser, createMachineUser } from '../../src/domain/user/service.js';
import { newId } from '../../src/shared/ids.js';
import { loginWorld, type LoginWorld } from '../integration/login-support.js';
import { consolePages, instanceConsolePages, type ConsolePageIds } from '../support/console-pages.js';
import { addApp, addOrg, addProject, grantRoles } from '../support/rp.js';
import { launchChromium } from './browser-support.js';
import { ConsoleJourney } from './console-support.js';

/**
 * Every kind of console page (test/support/console-pages.ts), opened in Chromium by the instance
 * admin, with something on it: each must answer 200, and each is screenshotted and checked with
 * axe-core (no serious or critical violation). Then the pages only some get: a form given bad
 * input, a secret shown once, the 404 page, "nothing to manage", the signed-out page, German.
 */
let w: LoginWorld;
let browser: Browser;
let ids: ConsolePageIds;
beforeAll(async () => {
  [w, browser] = await Promise.all([loginWorld('Walk'), launchChromium()]);
  ids = await seed();
}, 120_000);
afterAll(async () => {
  await browser?.close();
  await w?.close();
});

/** One of each thing the pages show, in the admin's org; a second org to grant to and from. */
async function seed(): Promise<ConsolePageIds> {
  const sys = w.sys();
  const orgId = w.inst.orgId;
  const otherDomain = `other${newId()}.example`;
  const other = await addOrg(w.inst.scope, 'Other Org', otherDomain);
  const project = await addProject(w.inst.scope, orgId, { name: 'Shop', roles: ['reader', 'writer'] });
  const app = await addApp(w.rt, w.inst.scope, project.projectId);
  const grantId = newId();
  await w.inst.scope.insert('project_grants', { id: grantId, project_id: project.projectId, granted_org_id: other, role_keys: ['reader'] });
  const theirs = await addProject(w.inst.scope, other, { name: 'Their Project', roles: ['viewer'] });
  const receivedGrantId = newId();
  await w.inst.scope.insert('project_grants', { id: receivedGrantId, project_id: theirs.projectId, granted_org_id: orgId, role_keys: ['viewer'] });
  const { id: userId } = await createHumanUser(sys, { orgId, username: 'grace', email: 'grace@example.com', givenName: 'Grace', familyName: 'Hopper' });
  const { id: machineId } = await createMachineUser(sys, { orgId, username: 'exporter', name: 'Exporter' });
  const userGrantId = await grantRoles(w.inst.scope, userId, project.projectId, orgId, ['reader']);
  const { id: membershipId } = await addMember(sys, { userId, level: 'org', orgId, roles: ['ORG_USER_MANAGER'] });
  const { id: projectMembershipId } = await addMember(sys, { userId, level: 'project', projectId: project.projectId, roles: ['PROJECT_OWNER'] });
  const { id: otherUser } = await createHumanUser(sys, { orgId: other, username: 'olaf', email: 'olaf@example.com' });
  const { id: grantMembershipId } = await addMember(sys, {
    userId: otherUser,
    level: 'project_grant',
    projectId: project.projectId,
    projectGrantId: grantId,
    roles: ['PROJECT_GRANT_OWNER'],
  });
  await w.rt.db.knex('users').where({ instance_id: w.inst.instanceId, id: userId }).update({ email_verified: true });
  return {
    orgId,
    userId,
    machineId,
    projectId: project.projectId,
    appId: app.appId,
    grantId,
    grantMembershipId,
    projectMembershipId,
    receivedGrantId,
    userGrantId,
    membershipId,
    explain: { user: 'grace', clientId: app.clientId },
  };
}

async function start(name: string, opts: { locale?: string } = {}): Promise<ConsoleJourney> {
  const j = await ConsoleJourney.start(w, browser, name, opts);
  j.context.setDefaultTimeout(120_000);
  j.context.setDefaultNavigationTimeout(120_000);
  j.page.on('dialog', (d) => void d.accept());
  return j;
}

const serious = (...js: ConsoleJourney[]) => js.flatMap((j) => Object.entries(j.violations).filter(([, v]) => v.length));

test('every console page kind answers 200 and has no serious or critical accessibility violation', async () => {
  const j = await start('every-page');
  await j.signIn(w.inst.adminLoginName, w.inst.adminPassword);
  const statuses: [string, number][] = [];
  for (const [name, path] of [...consolePages(ids), ...instanceConsolePages()]) {
    const res = await j.page.goto(j.url(path));
    statuses.push([name, res!.status()]);
    await j.check(name.replace(/[^\w]+/g, '-'));
  }
  expect(statuses.filter(([, s]) => s !== 200)).toEqual([]);
  expect(serious(j)).toEqual([]);
  await j.close();
}, 900_000);

test('the pages only some get: bad input, a secret shown once, 404, nothing to manage, signed out, German', async () => {
  const j = await start('special-pages');
  const { page } = j;
  await page.goto(j.url('/'));
  await j.check('front-door');
  await j.signIn(w.inst.adminLoginName, w.inst.adminPassword);
  // A form given bad input: one message per field.
  await page.goto(j.url(`/ui/console/orgs/${ids.orgId}/users/new`));
  await page.getByRole('button', { name: 'Create and send invitation' }).click();
  await page.getByText('Please fill this in.').first().waitFor();
  await j.check('form-with-errors');
  // A secret shown once.
  await page.goto(j.url(`/ui/console/orgs/${ids.orgId}/users/${ids.machineId}`));
  await page.getByRole('button', { name: 'Generate a new secret' }).click();
  await page.getByText('it is shown only this once').waitFor();
  await j.check('shown-once');
  // The 404 page.
  expect((await page.goto(j.url(`/ui/console/orgs/${ids.orgId}/projects/${newId()}`)))!.status()).toBe(404);
  await j.check('not-found');
  // Signed out.
  await page.goto(j.url(`/ui/console/orgs/${ids.orgId}`));
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByRole('button', { name: 'Yes, sign me out' }).click();
  await page.waitForURL(j.url('/ui/console/signed-out'));
  await j.check('signed-out');
  await j.close();

  // Someone who manages nothing.
  const password = 'Nobody-Passw0rd!';
  const username = `nobody${newId()}`;
  await createHumanUser(w.sys(), { orgId: ids.orgId, username, email: `${username}@example.com`, emailVerified: true, password });
  const nobody = await start('nothing-to-manage');
  await nobody.signIn(`${username}@${w.inst.adminLoginName.split('@')[1]}`, password);
  await nobody.page.getByRole('heading', { level: 1, name: 'Nothing to manage' }).waitFor();
  await nobody.check('nothing');
  await nobody.close();

  // German: a list, a user and a project.
  const de = await start('german', { locale: 'de-DE' });
  await de.signIn(w.inst.adminLoginName, w.inst.adminPassword, `/ui/console/orgs/${ids.orgId}/users`);
  await de.check('users-de');
  for (const [name, path] of consolePages(ids).filter(([n]) => ['a user (grants, manager roles)', 'a project', 'audit trail'].includes(n))) {
    await de.page.goto(de.url(path));
    await de.check(`${name.replace(/[^\w]+/g, '-')}-de`);
  }
  expect(await de.page.locator('html').getAttribute('lang')).toBe('de');
  await de.close();
  expect(serious(j, nobody, de)).toEqual([]);
}, 600_000);
