import { testRuntime, testInstance, type TestInstance } from '../support/runtime.js';
import type { Runtime } from '../../src/runtime/index.js';
import { createOrg } from '../../src/domain/org/service.js';
import { createHumanUser } from '../../src/domain/user/service.js';
import { createProject, getProject } from '../../src/domain/project/service.js';
import { addProjectRoles, listProjectRoles } from '../../src/domain/project/roles.js';
import { grantProject } from '../../src/domain/project-grant/service.js';
import { listMembershipsOfUser } from '../../src/domain/membership/repository.js';
import { primaryOrgDomain } from '../../src/domain/org/repository.js';
import { newId } from '../../src/shared/ids.js';
import { client, machineCaller, serve, systemCtx, type Caller, type Served } from './api-client.js';

/**
 * The permission matrix, over HTTP: for every manager role, which calls go through (2xx) and
 * which are refused (403, or 404 where the resource is not theirs to see).
 */
let rt: Runtime;
let srv: Served;
let inst: TestInstance;
let orgA: string;
let orgB: string;
let projectP: string;
let grantG: string;
const callers: Record<string, Caller> = {};

const freshUser = async (orgId: string) =>
  (
    await createHumanUser(systemCtx(inst, rt), {
      orgId,
      username: `u${newId()}`,
      email: `u${newId()}@example.com`,
    })
  ).id;

beforeAll(async () => {
  rt = await testRuntime();
  srv = await serve(rt);
  inst = await testInstance(rt, 'Matrix');
  const ctx = systemCtx(inst, rt);
  orgA = (await createOrg(ctx, { name: 'Org A' })).id;
  orgB = (await createOrg(ctx, { name: 'Org B' })).id;
  projectP = (await createProject(ctx, { orgId: orgA, name: 'P' })).id;
  await addProjectRoles(ctx, projectP, [
    { key: 'r1', displayName: 'R1' },
    { key: 'r2', displayName: 'R2' },
  ]);
  grantG = (await grantProject(ctx, { projectId: projectP, grantedOrgId: orgB, roleKeys: ['r1'] })).id;

  callers.IAM_OWNER = await machineCaller(rt, inst, inst.orgId, [{ level: 'instance', roles: ['IAM_OWNER'] }]);
  callers.ORG_OWNER = await machineCaller(rt, inst, orgA, [{ level: 'org', roles: ['ORG_OWNER'] }]);
  callers.ORG_OWNER_VIEWER = await machineCaller(rt, inst, orgA, [{ level: 'org', roles: ['ORG_OWNER_VIEWER'] }]);
  callers.ORG_USER_MANAGER = await machineCaller(rt, inst, orgA, [{ level: 'org', roles: ['ORG_USER_MANAGER'] }]);
  callers.ORG_PROJECT_CREATOR = await machineCaller(rt, inst, orgA, [{ level: 'org', roles: ['ORG_PROJECT_CREATOR'] }]);
  callers.PROJECT_OWNER = await machineCaller(rt, inst, orgA, [{ level: 'project', roles: ['PROJECT_OWNER'], orgId: orgA, projectId: projectP }]);
  callers.PROJECT_GRANT_OWNER = await machineCaller(rt, inst, orgB, [
    { level: 'project_grant', roles: ['PROJECT_GRANT_OWNER'], orgId: orgB, projectId: projectP, projectGrantId: grantG },
  ]);
  callers.ORG_OWNER_OF_B = await machineCaller(rt, inst, orgB, [{ level: 'org', roles: ['ORG_OWNER'] }]);
  for (const role of ['IAM_OWNER_VIEWER', 'IAM_ORG_MANAGER', 'IAM_USER_MANAGER']) {
    callers[role] = await machineCaller(rt, inst, inst.orgId, [{ level: 'instance', roles: [role] }]);
  }
  for (const role of ['ORG_USER_PERMISSION_EDITOR', 'ORG_PROJECT_PERMISSION_EDITOR']) {
    callers[role] = await machineCaller(rt, inst, orgA, [{ level: 'org', roles: [role] }]);
  }
  for (const role of ['PROJECT_OWNER_VIEWER', 'PROJECT_OWNER_GLOBAL', 'PROJECT_OWNER_VIEWER_GLOBAL']) {
    callers[role] = await machineCaller(rt, inst, orgA, [{ level: 'project', roles: [role], orgId: orgA, projectId: projectP }]);
  }
});
afterAll(async () => {
  await srv.close();
  await rt.close();
});

interface Call {
  name: string;
  method: 'get' | 'post' | 'put' | 'patch' | 'delete';
  path: () => string;
  org: () => string;
  body?: () => Promise<unknown>;
}

const calls: Call[] = [
  { name: 'list users of org A', method: 'get', path: () => '/management/v1/users', org: () => orgA },
  {
    name: 'create a user in org A',
    method: 'post',
    path: () => '/management/v1/users/human',
    org: () => orgA,
    body: async () => ({ username: `n${newId()}`, email: `n${newId()}@example.com` }),
  },
  { name: 'read project P', method: 'get', path: () => `/management/v1/projects/${projectP}`, org: () => orgA },
  {
    name: 'change project P',
    method: 'patch',
    path: () => `/management/v1/projects/${projectP}`,
    org: () => orgA,
    body: async () => ({ projectRoleAssertion: true }),
  },
  { name: 'create a project in org A', method: 'post', path: () => '/management/v1/projects', org: () => orgA, body: async () => ({ name: `p${newId()}` }) },
  {
    name: 'add a role to P',
    method: 'post',
    path: () => `/management/v1/projects/${projectP}/roles`,
    org: () => orgA,
    body: async () => ({ key: `k${newId()}`, displayName: 'K' }),
  },
  { name: 'read P as granted to org B', method: 'get', path: () => `/management/v1/granted_projects/${grantG}`, org: () => orgB },
  {
    name: 'give a user r1 via the grant (org B)',
    method: 'post',
    path: () => '/management/v1/user_grants',
    org: () => orgB,
    body: async () => ({ userId: await freshUser(orgB), projectId: projectP, roleKeys: ['r1'] }),
  },
  {
    name: 'add an org A member',
    method: 'post',
    path: () => '/management/v1/members',
    org: () => orgA,
    body: async () => ({ userId: await freshUser(orgA), roles: ['ORG_OWNER_VIEWER'] }),
  },
  { name: 'read the audit trail', method: 'get', path: () => '/admin/v1/events', org: () => orgA },
  { name: 'change token lifetimes', method: 'put', path: () => '/admin/v1/settings/oidc', org: () => orgA, body: async () => ({ accessTokenLifetimeS: 7200 }) },
];

// ✓ allowed, · refused. Columns follow `calls` above.
const matrix: Record<string, string> = {
  //                     users create readP chgP  newP  role  grnt  ugrt  memb  evts  oidc
  IAM_OWNER: '✓     ✓      ✓     ✓     ✓     ✓     ✓     ✓     ✓     ✓     ✓',
  IAM_OWNER_VIEWER: '✓     ·      ✓     ·     ·     ·     ✓     ·     ·     ✓     ·',
  IAM_ORG_MANAGER: '✓     ✓      ✓     ✓     ✓     ✓     ✓     ✓     ✓     ·     ·',
  IAM_USER_MANAGER: '✓     ✓      ✓     ·     ·     ·     ✓     ✓     ·     ·     ·',
  ORG_OWNER: '✓     ✓      ✓     ✓     ✓     ✓     ·     ·     ✓     ·     ·',
  ORG_OWNER_VIEWER: '✓     ·      ✓     ·     ·     ·     ·     ·     ·     ·     ·',
  ORG_USER_MANAGER: '✓     ✓      ✓     ·     ·     ·     ·     ·     ·     ·     ·',
  ORG_PROJECT_CREATOR: '·     ·      ·     ·     ✓     ·     ·     ·     ·     ·     ·',
  ORG_USER_PERMISSION_EDITOR: '✓     ·      ✓     ·     ·     ·     ·     ·     ·     ·     ·',
  ORG_PROJECT_PERMISSION_EDITOR: '·     ·      ✓     ·     ·     ·     ·     ·     ·     ·     ·',
  PROJECT_OWNER: '·     ·      ✓     ✓     ·     ✓     ·     ·     ·     ·     ·',
  PROJECT_OWNER_VIEWER: '·     ·      ✓     ·     ·     ·     ·     ·     ·     ·     ·',
  PROJECT_OWNER_GLOBAL: '·     ·      ✓     ✓     ·     ✓     ·     ·     ·     ·     ·',
  PROJECT_OWNER_VIEWER_GLOBAL: '·     ·      ✓     ·     ·     ·     ·     ·     ·     ·     ·',
  PROJECT_GRANT_OWNER: '·     ·      ·     ·     ·     ·     ✓     ✓     ·     ·     ·',
  ORG_OWNER_OF_B: '·     ·      ·     ·     ·     ·     ✓     ✓     ·     ·     ·',
};

const cases = Object.entries(matrix).flatMap(([role, row]) =>
  row
    .trim()
    .split(/\s+/)
    .map((mark, i) => [role, calls[i].name, mark === '✓', i] as const),
);

test.each(cases)('%s: %s → allowed %s', async (role, _name, allowed, i) => {
  const c = calls[i];
  const caller = callers[role];
  const api = client(srv.port, inst.domain, caller.token, { 'x-org-id': c.org() });
  const res = await api[c.method](c.path(), c.body ? await c.body() : undefined);
  const refused = (res.status === 403 && res.body?.code === 'permission_denied') || (res.status === 404 && /not_found$/.test(res.body?.code));
  const outcome = res.status < 300 ? 'allowed' : refused ? 'refused' : `unexpected ${res.status} ${res.text}`;
  expect(outcome).toBe(allowed ? 'allowed' : 'refused');
});

describe('escalation attempts are refused and change nothing', () => {
  test('an org owner cannot give itself IAM roles, at the instance or through its org', async () => {
    const me = callers.ORG_OWNER;
    const api = client(srv.port, inst.domain, me.token);
    const before = await listMembershipsOfUser(inst.scope, me.userId);
    const viaAdmin = await api.post('/admin/v1/members', { userId: me.userId, roles: ['IAM_OWNER'] });
    expect(viaAdmin).toMatchObject({ status: 403, body: { code: 'permission_denied' } });
    const viaOrg = await api.post('/management/v1/members', { userId: me.userId, roles: ['IAM_OWNER'] });
    expect(viaOrg.status).toBeGreaterThanOrEqual(400);
    expect(viaOrg.body.code).toMatch(/membership\.(role_level|exists)|permission_denied/);
    const change = await api.put(`/management/v1/members/${me.userId}`, { roles: ['IAM_OWNER'] });
    expect(change.status).toBe(422);
    expect(change.body.code).toBe('membership.role_level');
    expect(await listMembershipsOfUser(inst.scope, me.userId)).toEqual(before);
  });

  test('an org owner cannot add itself to another org', async () => {
    const me = callers.ORG_OWNER;
    const res = await client(srv.port, inst.domain, me.token, { 'x-org-id': orgB }).post('/management/v1/members', { userId: me.userId, roles: ['ORG_OWNER'] });
    // Without any standing in org B, org B's context does not exist for it.
    expect(res).toMatchObject({ status: 404, body: { code: 'org.not_found' } });
    expect((await listMembershipsOfUser(inst.scope, me.userId)).map((m) => m.org_id)).toEqual([orgA]);
  });

  test("a granted org's owner cannot rename the granted project, nor add roles or apps to it", async () => {
    const b = callers.ORG_OWNER_OF_B;
    const before = await getProject(inst.scope, projectP);
    const rolesBefore = await listProjectRoles(inst.scope, projectP);
    for (const org of [orgB, orgA]) {
      const api = client(srv.port, inst.domain, b.token, { 'x-org-id': org });
      const rename = await api.patch(`/management/v1/projects/${projectP}`, { name: 'Hijacked' });
      const role = await api.post(`/management/v1/projects/${projectP}/roles`, { key: 'evil', displayName: 'Evil' });
      const app = await api.post(`/management/v1/projects/${projectP}/apps`, {
        name: 'evil',
        appType: 'web',
        authMethod: 'none',
        redirectUris: ['https://evil.example/cb'],
      });
      // In its own org the project does not exist; the owner's org is no context of its own.
      for (const res of [rename, role, app]) expect(res.body).toMatchObject({ status: 404, code: org === orgB ? 'project.not_found' : 'org.not_found' });
    }
    expect(await getProject(inst.scope, projectP)).toEqual(before);
    expect(await listProjectRoles(inst.scope, projectP)).toEqual(rolesBefore);
  });

  test("another instance's resources are not found, and its tokens do not work here", async () => {
    const other = await testInstance(rt, 'Elsewhere');
    const otherOwner = await machineCaller(rt, other, other.orgId, [{ level: 'instance', roles: ['IAM_OWNER'] }]);
    const api = client(srv.port, inst.domain, callers.IAM_OWNER.token);
    expect((await api.get(`/management/v1/users/${otherOwner.userId}`)).status).toBe(404);
    expect((await api.get('/management/v1/users', undefined, { 'x-org-id': other.orgId })).body).toMatchObject({ status: 404, code: 'org.not_found' });
    expect((await client(srv.port, inst.domain, otherOwner.token).get('/admin/v1/events')).status).toBe(401);
  });

  test('a user of another org is 404 by id, never 403, and reachable only by exact login name', async () => {
    const userOfA = await freshUser(orgA);
    const loginName = `${(await (await import('../../src/domain/user/repository.js')).getUser(inst.scope, userOfA))!.username}@${await primaryOrgDomain(inst.scope, orgA)}`;
    const b = client(srv.port, inst.domain, callers.ORG_OWNER_OF_B.token);
    expect((await b.get(`/management/v1/users/${userOfA}`)).body).toMatchObject({ status: 404, code: 'user.not_found' });
    expect((await b.get(`/management/v1/users/_by_login_name?login_name=${encodeURIComponent(loginName)}`)).body).toMatchObject({
      id: userOfA,
      orgId: orgA,
      preferredLoginName: loginName,
    });
    expect((await b.get(`/management/v1/users/_by_login_name?login_name=${encodeURIComponent(loginName.slice(0, -1))}`)).status).toBe(404);
    expect((await b.get('/management/v1/users', undefined, { 'x-org-id': orgA })).status).toBe(404);
  });
});
