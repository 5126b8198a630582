import { newId } from '../../src/shared/ids.js';
import { addProject, type HttpResponse } from '../support/rp.js';
import { createIdp } from '../../src/domain/idp/service.js';
import { addMember } from '../../src/domain/membership/service.js';
import { client as apiClient, machineCaller } from './api-client.js';
import { consolePage, consoleSignIn, manager, postAsBrowser } from './console-support.js';
import { loginWorld, LoginSession, type LoginWorld } from './login-support.js';

/**
 * The instance admin's organization and manager pages over HTTP, through their forms: an org
 * created, deactivated (its users can no longer sign in, the list shows it inactive), reactivated,
 * deleted after a confirmation that counts what goes; instance managers added, their roles
 * changed (what they may open follows), removed; the last IAM_OWNER stays, in the console and in
 * the Admin API alike.
 */
let w: LoginWorld;
beforeAll(async () => {
  w = await loginWorld('ConsoleOrgs');
});
afterAll(() => w?.close());

const orgs = '/ui/console/instance/orgs';
const managers = '/ui/console/instance/managers';
const status = (page: HttpResponse) => /role="status">([^<]*)</.exec(page.body)?.[1].trim();
const alert = (page: HttpResponse) => /role="alert">([\s\S]*?)<\/p>/.exec(page.body)?.[1].trim();
const adminDomain = () => w.inst.adminLoginName.split('@')[1];

/** The page of a manager in the managers list, by their login name. */
function managerPath(list: HttpResponse, loginName: string): string | undefined {
  const row = [...list.body.matchAll(/<tr>([\s\S]*?)<\/tr>/g)].map((r) => r[1]).find((r) => r.startsWith(`<td>${loginName}`));
  return row && /href="(\/ui\/console\/instance\/managers\/\d+)"/.exec(row)![1];
}

async function admin() {
  return (await consoleSignIn(w, w.inst.adminLoginName, w.inst.adminPassword)).browser;
}

/** Whether a login to the test app with this password reaches the app. */
async function canSignIn(loginName: string, password: string): Promise<{ ok: boolean; page?: HttpResponse }> {
  const s = await new LoginSession(w).start();
  await s.submit('/loginname', { loginName });
  if (!s.callback && s.page.body.includes('/password"')) await s.submit('/password', { password });
  return s.callback ? { ok: true } : { ok: false, page: s.page };
}

/** The org's row in the instance's org list, found by its (unique) name. */
async function orgRow(browser: Awaited<ReturnType<typeof admin>>, name: string): Promise<string | undefined> {
  const page = await consolePage(browser, w, `${orgs}?q=${encodeURIComponent(name)}`);
  return [...page.body.matchAll(/<tr>([\s\S]*?)<\/tr>/g)].map((m) => m[1]).find((row) => row.includes(`>${name}</a>`));
}

test('an org is created, deactivated (its users cannot sign in), reactivated, and deleted after counting what goes', async () => {
  const browser = await admin();
  const list = await consolePage(browser, w, orgs);
  expect(list.status).toBe(200);
  const empty = await postAsBrowser(browser, list, orgs, { name: '' });
  expect(empty.status).toBe(400);
  expect(empty.body).toMatch(/id="f-org-name"[^>]*aria-invalid="true"/);

  const name = `Acme ${newId()}`;
  const created = await postAsBrowser(browser, list, orgs, { name });
  expect(status(created)).toBe(`Organization ${name} created.`);
  const taken = await postAsBrowser(browser, created, orgs, { name });
  expect(taken.status).toBe(400);
  expect(taken.body).toContain('An organization with this name already exists.');
  expect(taken.body).toContain(`value="${name}"`);

  const row = (await orgRow(browser, name))!;
  expect(row).toContain('badge active');
  const orgId = /\/ui\/console\/orgs\/(\d+)"/.exec(row)![1];
  // The org's generated primary domain is in its users' login names.
  const { domain } = await w.inst.scope.table('org_domains').where({ org_id: orgId, is_primary: true }).first();
  // A user of the org who signs in, and an owner who has the console open.
  const user = await manager(w.sys(), orgId, `u${newId()}`, domain);
  const owner = await manager(w.sys(), orgId, `o${newId()}`, domain, ['ORG_OWNER']);
  const ownerConsole = await consoleSignIn(w, owner.loginName, owner.password);
  expect(ownerConsole.page.status).toBe(200);
  expect((await canSignIn(user.loginName, user.password)).ok).toBe(true);

  const deactivated = await postAsBrowser(browser, await consolePage(browser, w, `${orgs}?q=${encodeURIComponent(name)}`), `/${orgId}/deactivate`);
  expect(status(deactivated)).toBe(`${name} was deactivated.`);
  expect(await orgRow(browser, name)).toContain('badge inactive');
  const refused = await canSignIn(user.loginName, user.password);
  expect(refused.ok).toBe(false);
  expect(refused.page!.status).toBe(403);
  expect(refused.page!.body).toContain('This user cannot sign in.');
  const ended = await consolePage(ownerConsole.browser, w, `/ui/console/orgs/${orgId}`);
  expect(ended.url.pathname).not.toMatch(/^\/ui\/console/);

  const reactivated = await postAsBrowser(browser, await consolePage(browser, w, `${orgs}?q=${encodeURIComponent(name)}`), `/${orgId}/reactivate`);
  expect(status(reactivated)).toBe(`${name} is active again.`);
  expect(await orgRow(browser, name)).toContain('badge active');
  expect((await canSignIn(user.loginName, user.password)).ok).toBe(true);

  // Delete: the confirmation counts what goes; then the org, its users and their sign-in are gone.
  await addProject(w.inst.scope, orgId);
  await createIdp(w.sys(), { orgId, name: 'Their AD', issuer: 'https://login.example.com', clientId: 'c', clientSecret: 's' });
  const confirm = await consolePage(browser, w, `${orgs}/${orgId}/delete`);
  expect(confirm.status).toBe(200);
  for (const line of [
    '2 users, with their sessions, factors and links',
    '1 projects, with their roles, applications and the grants they give',
    '0 project grants it received',
    '1 manager roles in it',
    '1 identity providers of its own',
  ])
    expect(confirm.body).toContain(line);
  const deleted = await postAsBrowser(browser, confirm, `${orgs}/${orgId}/delete`);
  expect(status(deleted)).toBe(`${name} was deleted.`);
  expect(await orgRow(browser, name)).toBeUndefined();
  expect((await consolePage(browser, w, `/ui/console/orgs/${orgId}`)).status).toBe(404);
  expect((await consolePage(browser, w, `${orgs}/${orgId}/delete`)).status).toBe(404);
  expect((await canSignIn(user.loginName, user.password)).ok).toBe(false);
}, 120_000);

test('instance managers: added by login name, roles changed (what they may open follows), removed; the last IAM_OWNER stays', async () => {
  const m = await manager(w.sys(), w.inst.orgId, `iam${newId()}`, adminDomain());
  const browser = await admin();
  const list = await consolePage(browser, w, managers);
  expect(list.status).toBe(200);
  const unknown = await postAsBrowser(browser, list, managers, { user: `nobody${newId()}@${adminDomain()}`, roles: ['IAM_ORG_MANAGER'] });
  expect(unknown.status).toBe(400);
  expect(unknown.body).toContain('No user has this username or login name.');
  const noRole = await postAsBrowser(browser, list, managers, { user: m.loginName, roles: [] });
  expect(noRole.status).toBe(400);
  expect(noRole.body).toContain('Please choose at least one role.');
  expect(noRole.body).toContain(`value="${m.loginName}"`);

  const added = await postAsBrowser(browser, list, managers, { user: m.loginName, roles: ['IAM_ORG_MANAGER'] });
  expect(status(added)).toBe(`${m.loginName} is now a manager here.`);
  expect(added.body).toContain(m.loginName);
  const again = await postAsBrowser(browser, added, managers, { user: m.loginName, roles: ['IAM_OWNER'] });
  expect(again.status).toBe(400);
  expect(again.body).toMatch(/id="f-[a-z]*-?user"[^>]*aria-invalid="true"/);

  // As IAM_ORG_MANAGER: the org list, but not the managers.
  const theirs = (await consoleSignIn(w, m.loginName, m.password)).browser;
  expect((await consolePage(theirs, w, orgs)).status).toBe(200);
  expect((await consolePage(theirs, w, managers)).status).toBe(404);

  const memberPath = managerPath(added, m.loginName)!;
  const memberPage = await consolePage(browser, w, memberPath);
  expect(memberPage.body).toContain(m.loginName);
  const promoted = await postAsBrowser(browser, memberPage, memberPath, { roles: ['IAM_OWNER'] });
  expect(status(promoted)).toBe(`The roles of ${m.loginName} were saved.`);
  expect((await consolePage(theirs, w, managers)).status).toBe(200);
  const none = await postAsBrowser(browser, await consolePage(browser, w, memberPath), memberPath, { roles: [] });
  expect(none.status).toBe(400);
  expect(none.body).toContain('Please keep at least one role, or remove the manager instead.');

  const removed = await postAsBrowser(browser, await consolePage(browser, w, managers), `${memberPath}/remove`);
  expect(status(removed)).toBe(`${m.loginName} is no longer a manager here.`);
  expect(managerPath(removed, m.loginName)).toBeUndefined();
  expect((await consolePage(theirs, w, '/ui/console/instance')).status).toBe(404);

  // The admin is now the only IAM_OWNER: neither demoted nor removed.
  const own = managerPath(removed, w.inst.adminLoginName)!;
  const ownPage = await consolePage(browser, w, own);
  expect(ownPage.body).toContain(w.inst.adminLoginName);
  const demoted = await postAsBrowser(browser, ownPage, own, { roles: ['IAM_OWNER_VIEWER'] });
  expect(demoted.status).toBe(400);
  expect(alert(demoted)).toContain('This is the last active instance owner: the instance must keep one.');
  const kept = await postAsBrowser(browser, await consolePage(browser, w, managers), `${own}/remove`);
  expect(alert(kept)).toContain('This is the last active instance owner: the instance must keep one.');
  expect((await consolePage(browser, w, own)).body).toMatch(/name="roles" type="checkbox" value="IAM_OWNER" checked/);
}, 120_000);

test('the Admin API refuses to remove the last IAM_OWNER with the same rule', async () => {
  const caller = await machineCaller(w.rt, w.inst, w.inst.orgId, [{ level: 'instance', roles: ['IAM_OWNER'] }]);
  const api = apiClient(w.server.port, w.inst.domain, caller.token);
  // Two owners: the admin may go; then the caller is the last and may not.
  expect((await api.delete(`/admin/v1/members/${w.inst.adminUserId}`)).status).toBe(204);
  const last = await api.delete(`/admin/v1/members/${caller.userId}`);
  expect(last.status).toBe(422);
  expect(last.headers['content-type']).toContain('application/problem+json');
  expect(last.body.code).toBe('membership.last_iam_owner');
  const demote = await api.put(`/admin/v1/members/${caller.userId}`, { roles: ['IAM_OWNER_VIEWER'] });
  expect(demote.body.code).toBe('membership.last_iam_owner');
  expect((await api.get(`/admin/v1/members?userId=${caller.userId}`)).body.result.map((r: { roles: string[] }) => r.roles)).toEqual([['IAM_OWNER']]);
  await addMember(w.sys(), { level: 'instance', userId: w.inst.adminUserId, roles: ['IAM_OWNER'] });
});
