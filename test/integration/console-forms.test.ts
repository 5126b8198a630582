import { updateUserProfile, createHumanUser } from '../../src/domain/user/service.js';
import { renameOrg } from '../../src/domain/org/service.js';
import { newId } from '../../src/shared/ids.js';
import type { HttpResponse } from '../support/rp.js';
import { loginWorld, type LoginWorld } from './login-support.js';
import { consoleSignIn, submitConsoleForm } from './console-support.js';
import { readOnNotice } from '../support/notices.js';

/** Console forms over HTTP: bad input comes back with the values and a message; a stale form saves nothing. */
let w: LoginWorld;
beforeAll(async () => {
  w = await loginWorld('Forms');
});
afterAll(() => w.close());

test('a stale profile form is refused with a message and saves nothing', async () => {
  const { id } = await createHumanUser(w.sys(), { orgId: w.inst.orgId, username: `s${newId()}`, email: 'stale@example.com' });
  const { browser } = await consoleSignIn(w, w.inst.adminLoginName, w.inst.adminPassword);
  const page = (await browser.navigate(new URL(`/ui/console/orgs/${w.inst.orgId}/users/${id}`, w.issuer))) as HttpResponse;
  await updateUserProfile(w.sys(), id, { displayName: 'From the API' });
  const res = await submitConsoleForm(browser, page, '/profile', { displayName: 'From the console' });
  expect(res.status).toBe(409);
  expect(res.body).toContain('Someone else changed this in the meantime');
  expect(res.body).toContain('value="From the console"');
  const row = await w.rt.db.knex('users').where({ instance_id: w.inst.instanceId, id }).first();
  expect(row.display_name).toBe('From the API');
});

test('a stale org rename is refused; a fresh one goes through', async () => {
  const { browser } = await consoleSignIn(w, w.inst.adminLoginName, w.inst.adminPassword);
  const settings = `/ui/console/orgs/${w.inst.orgId}/settings`;
  const page = (await browser.navigate(new URL(settings, w.issuer))) as HttpResponse;
  await renameOrg(w.sys(), w.inst.orgId, 'Renamed Elsewhere');
  const stale = await submitConsoleForm(browser, page, '/settings/name', { name: 'Renamed Here' });
  expect(stale.status).toBe(409);
  expect(stale.body).toContain('Someone else changed this in the meantime');
  expect((await w.rt.db.knex('orgs').where({ instance_id: w.inst.instanceId, id: w.inst.orgId }).first()).name).toBe('Renamed Elsewhere');
  const fresh = (await browser.navigate(new URL(settings, w.issuer))) as HttpResponse;
  const ok = await submitConsoleForm(browser, fresh, '/settings/name', { name: 'Renamed Here' });
  expect(ok.status).toBe(200);
  expect(ok.body).toContain('The organization was renamed.');
});

test('bad input re-renders the form with the values typed and one message per field', async () => {
  // The rename above moved the org's generated domain, and the admin's login name with it.
  const domain = (await w.rt.db.knex('org_domains').where({ instance_id: w.inst.instanceId, org_id: w.inst.orgId, is_primary: true }).first()).domain;
  const { browser } = await consoleSignIn(w, `admin@${domain}`, w.inst.adminPassword);
  const page = (await browser.navigate(new URL(`/ui/console/orgs/${w.inst.orgId}/users/new`, w.issuer))) as HttpResponse;
  const res = await submitConsoleForm(browser, page, '/users/human', { username: '', email: 'nope', givenName: 'Kim' });
  expect(res.status).toBe(400);
  expect(res.body).toMatch(/id="f-user-username"[^>]*aria-invalid="true"/);
  expect(res.body).toContain('Please fill this in.');
  expect(res.body).toContain('Please enter an email address like name@example.com.');
  expect(res.body).toContain('value="nope"');
  expect(res.body).toContain('value="Kim"');
});

test("a form's change notice leaves after the change commits: a process that reads on hearing it sees the change", async () => {
  const domain = (await w.rt.db.knex('org_domains').where({ instance_id: w.inst.instanceId, org_id: w.inst.orgId, is_primary: true }).first()).domain;
  const { browser } = await consoleSignIn(w, `admin@${domain}`, w.inst.adminPassword);
  const settings = `/ui/console/orgs/${w.inst.orgId}/settings`;
  const page = (await browser.navigate(new URL(settings, w.issuer))) as HttpResponse;
  const notices = readOnNotice(
    w.rt.deps.changes,
    w.inst.instanceId,
    async () => (await w.rt.db.knex('orgs').where({ instance_id: w.inst.instanceId, id: w.inst.orgId }).first('name')).name,
  );
  const name = `Noticed ${newId()}`;
  expect((await submitConsoleForm(browser, page, '/settings/name', { name })).status).toBe(200);
  const seen = await notices.seen();
  expect(seen.length).toBeGreaterThan(0);
  expect(seen).toEqual(seen.map(() => name));
});
