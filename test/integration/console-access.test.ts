import { createOrg } from '../../src/domain/org/service.js';
import { primaryOrgDomain } from '../../src/domain/org/repository.js';
import { createProject } from '../../src/domain/project/service.js';
import { addProjectRoles } from '../../src/domain/project/roles.js';
import { createApplication } from '../../src/domain/project/applications.js';
import { grantProject, updateProjectGrantRoles } from '../../src/domain/project-grant/service.js';
import { addUserGrant } from '../../src/domain/user-grant/service.js';
import { addMember } from '../../src/domain/membership/service.js';
import { createHumanUser } from '../../src/domain/user/service.js';
import type { ServiceContext } from '../../src/domain/deps.js';
import { newId } from '../../src/shared/ids.js';
import { formsOf, type Browser, type HttpResponse } from '../support/rp.js';
import { loginWorld, type LoginWorld } from './login-support.js';
import { consoleForm, consoleSignIn, manager } from './console-support.js';

/**
 * The access half of the console over HTTP: every page of projects, roles, applications, grants,
 * granted projects, authorizations, managers, the audit trail and the explainer renders for an
 * org owner; every one of those URLs answers 404 for ids of another org; forms come back with
 * what was typed and save nothing when refused; stale forms say so.
 */
let w: LoginWorld;
let a: Awaited<ReturnType<typeof orgWithEverything>>;
let b: Awaited<ReturnType<typeof orgWithEverything>>;
let owner: { browser: Browser };

async function orgWithEverything(sys: ServiceContext, name: string) {
  const { id: orgId } = await createOrg(sys, { name: `${name} ${newId()}` });
  const domain = (await primaryOrgDomain(sys.scope, orgId))!;
  const { id: partnerId } = await createOrg(sys, { name: `${name} Partner ${newId()}` });
  const { id: projectId } = await createProject(sys, { orgId, name: `${name} Project` });
  await addProjectRoles(sys, projectId, [
    { key: 'reader', displayName: 'Reader' },
    { key: 'writer', displayName: 'Writer' },
  ]);
  const app = await createApplication(sys, projectId, {
    name: `${name} Web`,
    appType: 'web',
    authMethod: 'client_secret_basic',
    redirectUris: ['https://app.example/cb'],
  });
  const { id: grantId } = await grantProject(sys, { projectId, grantedOrgId: partnerId, roleKeys: ['reader'] });
  const { id: userId } = await createHumanUser(sys, { orgId, username: `u${newId()}`, email: 'u@example.com', emailVerified: true });
  const { id: partnerUserId } = await createHumanUser(sys, { orgId: partnerId, username: `p${newId()}`, email: 'p@example.com', emailVerified: true });
  const { id: userGrantId } = await addUserGrant(sys, { userId, projectId, orgId, roleKeys: ['writer'] });
  const { id: partnerGrantId } = await addUserGrant(sys, { userId: partnerUserId, projectId, orgId: partnerId, roleKeys: ['reader'] });
  const { id: orgMemberId } = await addMember(sys, { userId, level: 'org', orgId, roles: ['ORG_USER_MANAGER'] });
  const { id: projectMemberId } = await addMember(sys, { userId, level: 'project', projectId, roles: ['PROJECT_OWNER_VIEWER'] });
  const { id: grantMemberId } = await addMember(sys, {
    userId: partnerUserId,
    level: 'project_grant',
    projectGrantId: grantId,
    roles: ['PROJECT_GRANT_OWNER'],
  });
  return {
    orgId,
    domain,
    partnerId,
    projectId,
    appId: app.id,
    clientId: app.clientId,
    grantId,
    userId,
    partnerUserId,
    userGrantId,
    partnerGrantId,
    orgMemberId,
    projectMemberId,
    grantMemberId,
  };
}

/** Every URL of the access areas for one org's fixture, with the ids of `ids` (another org's, to probe). */
function urls(orgId: string, ids: typeof a) {
  const o = `/ui/console/orgs/${orgId}`;
  const p = `${o}/projects/${ids.projectId}`;
  return [
    p,
    `${p}/delete`,
    `${p}/roles`,
    `${p}/roles/edit?key=reader`,
    `${p}/roles/remove?key=reader`,
    `${p}/apps`,
    `${p}/apps/new`,
    `${p}/apps/${ids.appId}`,
    `${p}/apps/${ids.appId}/delete`,
    `${p}/grants`,
    `${p}/grants/${ids.grantId}`,
    `${p}/grants/${ids.grantId}/remove`,
    `${p}/grants/${ids.grantId}/managers`,
    `${p}/grants/${ids.grantId}/managers/${ids.grantMemberId}`,
    `${p}/managers`,
    `${p}/managers/${ids.projectMemberId}`,
    `${o}/authorizations/${ids.userGrantId}`,
    `${o}/managers/${ids.orgMemberId}`,
  ];
}

const get = async (path: string) => (await owner.browser.navigate(new URL(path, w.issuer))) as HttpResponse;

beforeAll(async () => {
  w = await loginWorld('ConsoleAccess');
  [a, b] = [await orgWithEverything(w.sys(), 'Alpha'), await orgWithEverything(w.sys(), 'Beta')];
  const m = await manager(w.sys(), a.orgId, `owner${newId()}`, a.domain, ['ORG_OWNER']);
  owner = await consoleSignIn(w, m.loginName, m.password);
}, 60_000);
afterAll(() => w.close());

test("every page of the access areas renders for the org's owner", async () => {
  const o = `/ui/console/orgs/${a.orgId}`;
  const pages = [
    ...urls(a.orgId, a),
    `${o}/projects`,
    `${o}/authorizations`,
    `${o}/authorizations/new`,
    `${o}/managers`,
    `${o}/audit`,
    `${o}/explain`,
    `${o}/audit?resourceType=project&resourceId=${a.projectId}`,
    `${o}/explain?user=${encodeURIComponent(`u`)}&app=${encodeURIComponent(a.clientId)}`,
  ];
  const failed: string[] = [];
  for (const path of pages) {
    const res = await get(path);
    if (res.status !== 200 && !(path.includes('explain?') && res.status === 400)) failed.push(`${path}: ${res.status}`);
    expect(res.headers['content-security-policy']).toContain("script-src 'self'");
    expect(res.body).not.toMatch(/<script(?![^>]*\bsrc=)/); // no inline script
  }
  expect(failed).toEqual([]);
  // The partner org sees the project it was granted, read-only.
  const partner = await manager(w.sys(), a.partnerId, `po${newId()}`, (await primaryOrgDomain(w.sys().scope, a.partnerId))!, ['ORG_OWNER']);
  const { browser } = await consoleSignIn(w, partner.loginName, partner.password);
  const granted = (await browser.navigate(new URL(`/ui/console/orgs/${a.partnerId}/granted/${a.grantId}`, w.issuer))) as HttpResponse;
  expect(granted.status).toBe(200);
  expect(granted.body).toContain('Alpha Project');
  // Read-only: no form changes anything there, and no link leads to the owner's project pages.
  expect(formsOf(granted).filter((f) => f.method.toLowerCase() === 'post' && !f.action.pathname.endsWith('/sign-out'))).toEqual([]);
  expect(granted.body).not.toContain(`/projects/${a.projectId}`);
  expect(((await browser.navigate(new URL(`/ui/console/orgs/${a.orgId}/projects/${a.projectId}`, w.issuer))) as HttpResponse).status).toBe(404);
});

test("ids of another org answer 404 on every URL, as do the other org's own pages", async () => {
  const answered: string[] = [];
  for (const path of [
    ...urls(a.orgId, b),
    ...urls(b.orgId, b),
    `/ui/console/orgs/${b.orgId}/projects`,
    `/ui/console/orgs/${b.orgId}/audit`,
    `/ui/console/orgs/${b.orgId}/explain`,
    `/ui/console/orgs/${b.orgId}/authorizations`,
    `/ui/console/orgs/${a.orgId}/granted/${b.grantId}`,
  ]) {
    const res = await get(path);
    if (res.status !== 404) answered.push(`${path}: ${res.status}`);
  }
  expect(answered).toEqual([]);
  // A form posted to a foreign id changes nothing either.
  const page = await get(`/ui/console/orgs/${a.orgId}/projects/${a.projectId}/roles`);
  const form = consoleForm(page, '/roles');
  const res = (await owner.browser.navigate(new URL(`/ui/console/orgs/${a.orgId}/projects/${b.projectId}/roles`, w.issuer), {
    form: { ...form.fields, key: 'smuggled', displayName: 'Smuggled' },
  })) as HttpResponse;
  expect(res.status).toBe(404);
  expect(await w.rt.db.knex('project_roles').where({ instance_id: w.inst.instanceId, project_id: b.projectId, key: 'smuggled' })).toHaveLength(0);
});

test('a refused application form comes back with what was typed, and nothing is created', async () => {
  const page = await get(`/ui/console/orgs/${a.orgId}/projects/${a.projectId}/apps/new`);
  const form = consoleForm(page, '/apps');
  const res = (await owner.browser.navigate(form.action, {
    form: {
      ...form.fields,
      appType: 'web',
      name: 'Shop',
      authMethod: 'client_secret_basic',
      redirectUris: 'http://shop.example/cb\nnot a url',
      accessTokenType: 'jwt',
    },
  })) as HttpResponse;
  expect(res.status).toBe(400);
  expect(res.body).toMatch(/id="f-app-redirectUris"[^>]*aria-invalid="true"/);
  expect(res.body).toContain('http://shop.example/cb\nnot a url');
  expect(res.body).toContain('value="Shop"');
  expect(await w.rt.db.knex('applications').where({ instance_id: w.inst.instanceId, project_id: a.projectId, name: 'Shop' })).toHaveLength(0);
});

test('a stale grant form is refused and saves nothing; roles not in the project are refused', async () => {
  const url = `/ui/console/orgs/${a.orgId}/projects/${a.projectId}/grants/${a.grantId}`;
  const page = await get(url);
  await updateProjectGrantRoles(w.sys(), a.grantId, ['reader', 'writer']);
  const form = consoleForm(page, `/grants/${a.grantId}`);
  const stale = (await owner.browser.navigate(form.action, { form: [...Object.entries(form.fields), ['roleKeys', 'writer']] })) as HttpResponse;
  expect(stale.status).toBe(409);
  expect(stale.body).toContain('Someone else changed this in the meantime');
  expect((await w.rt.db.knex('project_grants').where({ instance_id: w.inst.instanceId, id: a.grantId }).first()).role_keys).toEqual(['reader', 'writer']);

  const fresh = consoleForm(await get(url), `/grants/${a.grantId}`);
  const bad = (await owner.browser.navigate(fresh.action, {
    form: [...Object.entries(fresh.fields), ['roleKeys', 'reader'], ['roleKeys', 'owner']],
  })) as HttpResponse;
  expect(bad.status).toBe(400);
  expect(bad.body).toContain('Only roles of the project can be granted.');
  expect((await w.rt.db.knex('project_grants').where({ instance_id: w.inst.instanceId, id: a.grantId }).first()).role_keys).toEqual(['reader', 'writer']);
});

test('the audit trail filters by resource and actor and pages by a cursor', async () => {
  const o = `/ui/console/orgs/${a.orgId}/audit`;
  const byProject = await get(`${o}?resourceType=project&resourceId=${a.projectId}`);
  expect(byProject.status).toBe(200);
  expect(byProject.body).toContain('project.role.added');
  expect(byProject.body).not.toContain('user.grant.added');
  const unknownActor = await get(`${o}?actor=nobody-${newId()}`);
  expect(unknownActor.status).toBe(400);
  expect(unknownActor.body).toContain('No user has this username or login name.');
  const badTime = await get(`${o}?from=yesterday`);
  expect(badTime.status).toBe(400);
  expect(badTime.body).toMatch(/id="f-audit-from"[^>]*aria-invalid="true"/);
});
