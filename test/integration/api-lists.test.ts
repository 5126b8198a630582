import { testRuntime, testInstance, type TestInstance } from '../support/runtime.js';
import type { Runtime } from '../../src/runtime/index.js';
import { newId } from '../../src/shared/ids.js';
import { insertOrg } from '../../src/domain/org/repository.js';
import { client, machineCaller, serve, type Caller, type Served } from './api-client.js';

/** Lists page, filter and sort in the database; what a caller may not see is never counted. */

let rt: Runtime;
let srv: Served;
let inst: TestInstance;
let owner: Caller;
beforeAll(async () => {
  rt = await testRuntime();
  srv = await serve(rt);
  inst = await testInstance(rt, 'Lists');
  owner = await machineCaller(rt, inst, inst.orgId, [{ level: 'org', roles: ['ORG_OWNER'] }]);
});
afterAll(async () => {
  await srv.close();
  await rt.close();
});

const BULK = 1205;

test('more than 1000 users are listable page by page, with the right totalResult', async () => {
  // Rows go in directly: creating 1200 users through the API would only test the create route.
  const rows = Array.from({ length: BULK }, (_, i) => ({
    id: newId(),
    org_id: inst.orgId,
    type: 'human',
    username: `bulk-${String(i).padStart(5, '0')}`,
    email: `bulk${i}@example.test`,
  }));
  for (let i = 0; i < rows.length; i += 500) await inst.scope.insert('users', rows.slice(i, i + 500));

  const api = client(srv.port, inst.domain, owner.token);
  const seen = new Set<string>();
  let total = -1;
  for (let offset = 0; ; offset += 500) {
    const page = await api.get(`/management/v1/users?username=bulk-&sort=username&limit=500&offset=${offset}`);
    expect(page.status).toBe(200);
    expect(page.body.details).toEqual({ totalResult: BULK, offset, limit: 500 });
    total = page.body.details.totalResult;
    for (const u of page.body.result) seen.add(u.username);
    if (page.body.result.length < 500) break;
  }
  expect(total).toBe(BULK);
  expect(seen.size).toBe(BULK);
  // The last page is the tail of the sorted list, beyond the old 1000-row cap.
  const last = await api.get('/management/v1/users?username=bulk-&sort=username&limit=5&offset=1200');
  expect(last.body.result.map((u: any) => u.username)).toEqual(['bulk-01200', 'bulk-01201', 'bulk-01202', 'bulk-01203', 'bulk-01204']);
  // Without a username filter the org's other users (its admin, the machine caller) count too.
  const [{ n }] = await inst.scope.table('users').where({ org_id: inst.orgId }).count({ n: '*' });
  expect(Number(n)).toBeGreaterThan(BULK);
  expect((await api.get('/management/v1/users?limit=1')).body.details.totalResult).toBe(Number(n));
});

/** One GET through the API (answered 200), with the database queries it ran. */
async function queriesOf(api: ReturnType<typeof client>, path: string): Promise<{ n: number; body: any }> {
  let n = 0;
  const count = () => n++;
  rt.db.knex.on('query', count);
  try {
    const res = await api.get(path);
    expect(res.status).toBe(200);
    return { n, body: res.body };
  } finally {
    rt.db.knex.off('query', count);
  }
}

/**
 * The runtime's background work (the mail outbox sender, sweeps) queries the same pool now and
 * then; it only ever adds, so the fewest of three tries is the request's own count.
 */
async function fewestQueriesOf(api: ReturnType<typeof client>, path: string): Promise<{ n: number; body: any }> {
  const tries = [await queriesOf(api, path), await queriesOf(api, path), await queriesOf(api, path)];
  return tries.reduce((a, b) => (b.n < a.n ? b : a));
}

test('a page of users costs the same database queries whatever its length: none per row', async () => {
  const api = client(srv.port, inst.domain, owner.token);
  const fewest = (path: string) => fewestQueriesOf(api, path);
  const one = await fewest('/management/v1/users?limit=1');
  const page = await fewest('/management/v1/users?limit=20');
  expect(page.body.result).toHaveLength(20);
  expect(page.n).toBe(one.n);
  // Each row still has its login names, as GET of that one user answers them.
  const single = await api.get(`/management/v1/users/${page.body.result[3].id}`);
  expect(page.body.result[3]).toMatchObject({ loginNames: single.body.loginNames, preferredLoginName: single.body.preferredLoginName });
  expect(single.body.loginNames[0]).toMatch(/@/);
});

test('sorting by a whitelisted column works both ways; an unknown column is a 400 problem', async () => {
  const api = client(srv.port, inst.domain, owner.token);
  for (const name of ['Kilo', 'India', 'Juliett']) expect((await api.post('/management/v1/projects', { name: `Sort ${name}` })).status).toBe(201);
  const up = await api.get('/management/v1/projects?name=Sort&sort=name&asc=true');
  expect(up.body.result.map((p: any) => p.name)).toEqual(['Sort India', 'Sort Juliett', 'Sort Kilo']);
  const down = await api.get('/management/v1/projects?name=Sort&sort=name&asc=false');
  expect(down.body.result.map((p: any) => p.name)).toEqual(['Sort Kilo', 'Sort Juliett', 'Sort India']);
  const byUsernameDesc = await api.get('/management/v1/users?username=bulk-&sort=username&asc=false&limit=2');
  expect(byUsernameDesc.body.result.map((u: any) => u.username)).toEqual(['bulk-01204', 'bulk-01203']);

  for (const path of ['/management/v1/users?sort=password_hash', '/management/v1/projects?sort=secret', '/management/v1/user_grants?sort=id;drop']) {
    const bad = await api.get(path);
    expect(bad.status).toBe(400);
    expect(bad.headers['content-type']).toMatch(/application\/problem\+json/);
    expect(bad.body.code).toBe('invalid_input');
  }
});

test("a restricted caller's list and totalResult count only what it may see", async () => {
  const api = client(srv.port, inst.domain, owner.token);
  const ids: string[] = [];
  for (const name of ['Mine', 'Other 1', 'Other 2', 'Other 3']) {
    const r = await api.post('/management/v1/projects', { name: `Restricted ${name}` });
    expect(r.status).toBe(201);
    ids.push(r.body.id);
  }
  for (const id of ids) expect((await api.post(`/management/v1/projects/${id}/roles`, { key: 'reader', displayName: 'Reader' })).status).toBeLessThan(300);
  const target = (await api.post('/management/v1/users/machine', { username: 'grantee', name: 'Grantee' })).body.id;
  for (const id of ids) {
    expect((await api.post('/management/v1/user_grants', { userId: target, projectId: id, roleKeys: ['reader'] })).status).toBeLessThan(300);
  }

  const projectOwner = await machineCaller(rt, inst, inst.orgId, [{ level: 'project', roles: ['PROJECT_OWNER_VIEWER'], projectId: ids[0] }]);
  const restricted = client(srv.port, inst.domain, projectOwner.token);

  const projects = await restricted.get('/management/v1/projects?limit=1');
  expect(projects.status).toBe(200);
  expect(projects.body.details.totalResult).toBe(1);
  expect(projects.body.result.map((p: any) => p.id)).toEqual([ids[0]]);
  // A page past the visible rows is empty rather than filled with rows it may not see.
  expect((await restricted.get('/management/v1/projects?offset=1')).body.result).toEqual([]);

  const grants = await restricted.get(`/management/v1/user_grants?userId=${target}`);
  expect(grants.status).toBe(200);
  expect(grants.body.details.totalResult).toBe(1);
  expect(grants.body.result.map((g: any) => g.projectId)).toEqual([ids[0]]);

  // The org owner sees all four of each.
  expect((await api.get('/management/v1/projects?name=Restricted')).body.details.totalResult).toBe(4);
  expect((await api.get(`/management/v1/user_grants?userId=${target}`)).body.details.totalResult).toBe(4);
});

test('project grants, apps, members and orgs page in the database too', async () => {
  const api = client(srv.port, inst.domain, owner.token);
  const project = (await api.post('/management/v1/projects', { name: 'Paged children' })).body.id;
  for (const name of ['zeta', 'alpha', 'mu']) {
    const r = await api.post(`/management/v1/projects/${project}/apps`, {
      name: `app-${name}`,
      appType: 'web',
      authMethod: 'none',
      redirectUris: ['http://localhost/cb'],
    });
    expect(r.status).toBe(201);
  }
  const apps = await api.get(`/management/v1/projects/${project}/apps?sort=name&asc=false&limit=2`);
  expect(apps.status).toBe(200);
  expect(apps.body.details).toEqual({ totalResult: 3, offset: 0, limit: 2 });
  expect(apps.body.result.map((a: any) => a.name)).toEqual(['app-zeta', 'app-mu']);
  expect((await api.get(`/management/v1/projects/${project}/apps?name=alp`)).body.result.map((a: any) => a.name)).toEqual(['app-alpha']);

  const members = await api.get('/management/v1/members?sort=userId&limit=1');
  expect(members.status).toBe(200);
  expect(members.body.details.totalResult).toBeGreaterThanOrEqual(members.body.result.length);
  expect((await api.get('/management/v1/members?sort=roles')).status).toBe(400);

  const iam = client(srv.port, inst.domain, (await machineCaller(rt, inst, inst.orgId, [{ level: 'instance', roles: ['IAM_OWNER'] }])).token);
  const orgs = await iam.get('/admin/v1/orgs?sort=name&asc=false&limit=1');
  expect(orgs.status).toBe(200);
  expect(orgs.body.result).toHaveLength(1);
  const [{ n }] = await inst.scope.table('orgs').count({ n: '*' });
  expect(orgs.body.details).toEqual({ totalResult: Number(n), offset: 0, limit: 1 });
  expect((await iam.get('/admin/v1/orgs?sort=version')).status).toBe(400);

  const grants = await api.get(`/management/v1/projects/${project}/grants?sort=createdAt&asc=false`);
  expect(grants.status).toBe(200);
  expect(grants.body.details.totalResult).toBe(0);
});

test('granted projects: a PROJECT_GRANT_OWNER sees and counts its one grant; the org owner sees all', async () => {
  const api = client(srv.port, inst.domain, owner.token);
  const customer = newId();
  await insertOrg(inst.scope, { id: customer, name: 'Lists Customer' });
  const grantIds: string[] = [];
  const projectIds: string[] = [];
  for (const name of ['Gamma', 'Alpha', 'Beta']) {
    const p = (await api.post('/management/v1/projects', { name: `Granted ${name}` })).body.id;
    projectIds.push(p);
    expect((await api.post(`/management/v1/projects/${p}/roles`, { key: 'use', displayName: 'Use' })).status).toBeLessThan(300);
    const g = await api.post(`/management/v1/projects/${p}/grants`, { grantedOrgId: customer, roleKeys: ['use'] });
    expect(g.status).toBe(201);
    grantIds.push(g.body.id);
  }

  const customerOwner = client(srv.port, inst.domain, (await machineCaller(rt, inst, customer, [{ level: 'org', roles: ['ORG_OWNER'] }])).token);
  const all = await customerOwner.get('/management/v1/granted_projects?sort=projectName&asc=false&limit=2');
  expect(all.status).toBe(200);
  expect(all.body.details).toEqual({ totalResult: 3, offset: 0, limit: 2 });
  expect(all.body.result.map((g: any) => g.projectName)).toEqual(['Granted Gamma', 'Granted Beta']);
  expect(all.body.result[0].roles).toEqual([{ key: 'use', displayName: 'Use', group: null }]);

  const grantOwner = await machineCaller(rt, inst, customer, [
    { level: 'project_grant', roles: ['PROJECT_GRANT_OWNER'], orgId: customer, projectId: projectIds[1], projectGrantId: grantIds[1] },
  ]);
  const one = await client(srv.port, inst.domain, grantOwner.token).get('/management/v1/granted_projects');
  expect(one.status).toBe(200);
  expect(one.body.details.totalResult).toBe(1);
  expect(one.body.result.map((g: any) => g.projectGrantId)).toEqual([grantIds[1]]);
});

test('the total rides on the page: one query per list warm, and a page past the end still counts', async () => {
  const api = client(srv.port, inst.domain, owner.token);
  for (const name of ['Tally A', 'Tally B', 'Tally C']) expect((await api.post('/management/v1/projects', { name })).status).toBe(201);
  await queriesOf(api, '/management/v1/projects?limit=2');
  const warm = await fewestQueriesOf(api, '/management/v1/projects?limit=2');
  expect(warm.n).toBe(1);
  const all = warm.body.details.totalResult;
  expect(all).toBeGreaterThan(2);
  expect(warm.body.result).toHaveLength(2);
  for (const p of warm.body.result) expect(Object.keys(p).some((k) => k.includes('total'))).toBe(false);
  // Past the end: no rows carry the total, so it is counted apart, and is still right.
  const past = await queriesOf(api, `/management/v1/projects?limit=2&offset=${all + 5}`);
  expect(past.body.result).toEqual([]);
  expect(past.body.details.totalResult).toBe(all);
  // Nothing matches: zero, not a missing total.
  const none = await api.get('/management/v1/users?username=no-such-user-anywhere');
  expect(none.body.details.totalResult).toBe(0);
  expect(none.body.result).toEqual([]);
});
