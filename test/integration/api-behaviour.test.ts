import { testRuntime, testInstance, type TestInstance } from '../support/runtime.js';
import type { Runtime } from '../../src/runtime/index.js';
import { getProject } from '../../src/domain/project/service.js';
import { listInstanceDomains } from '../../src/domain/instance/repository.js';
import { allGroups } from '../../src/api/index.js';
import { client, machineCaller, request, serve, type Caller, type Served } from './api-client.js';

const SYSTEM_KEY = 'system-key-for-tests-0123456789';
let rt: Runtime;
let srv: Served;
let inst: TestInstance;
let owner: Caller;
beforeAll(async () => {
  rt = await testRuntime({ systemApiKeys: [{ id: 'ops', key: SYSTEM_KEY }] });
  srv = await serve(rt);
  inst = await testInstance(rt, 'Behaviour');
  owner = await machineCaller(rt, inst, inst.orgId, [{ level: 'org', roles: ['ORG_OWNER'] }]);
});
afterAll(async () => {
  await srv.close();
  await rt.close();
});

describe('If-Match', () => {
  test('an update with a stale version is refused with 412 and changes nothing', async () => {
    const api = client(srv.port, inst.domain, owner.token);
    const { id } = (await api.post('/management/v1/projects', { name: 'Versioned' })).body;
    const read = await api.get(`/management/v1/projects/${id}`);
    expect(read.headers.etag).toBe('"1"');

    const first = await api.patch(`/management/v1/projects/${id}`, { name: 'Versioned 2' }, { 'if-match': read.headers.etag as string });
    expect(first).toMatchObject({ status: 200, body: { name: 'Versioned 2', version: 2 } });
    expect(first.headers.etag).toBe('"2"');

    const stale = await api.patch(`/management/v1/projects/${id}`, { name: 'Lost update' }, { 'if-match': '"1"' });
    expect(stale.status).toBe(412);
    expect(stale.headers['content-type']).toMatch(/application\/problem\+json/);
    expect(stale.body).toMatchObject({ code: 'precondition_failed', category: 'precondition_failed', details: { currentVersion: 2 } });
    expect((await getProject(inst.scope, id))!.name).toBe('Versioned 2');

    // Without If-Match the last writer wins, as HTTP allows.
    expect((await api.patch(`/management/v1/projects/${id}`, { name: 'Versioned 3' })).status).toBe(200);
  });

  test('a stale If-Match on delete keeps the resource', async () => {
    const api = client(srv.port, inst.domain, owner.token);
    const { id } = (await api.post('/management/v1/users/machine', { username: 'keep-me', name: 'Keep' })).body;
    expect((await api.delete(`/management/v1/users/${id}`, undefined, { 'if-match': '"7"' })).status).toBe(412);
    expect((await api.get(`/management/v1/users/${id}`)).status).toBe(200);
    expect((await api.delete(`/management/v1/users/${id}`, undefined, { 'if-match': '"1"' })).status).toBe(204);
    expect((await api.get(`/management/v1/users/${id}`)).status).toBe(404);
  });
});

test('lists are paginated, filtered and sorted', async () => {
  const api = client(srv.port, inst.domain, owner.token);
  for (const name of ['Echo', 'Alpha', 'Delta', 'Charlie', 'Bravo']) await api.post('/management/v1/projects', { name: `List ${name}` });
  const page = await api.get('/management/v1/projects?name=List&sort=name&asc=false&offset=1&limit=2');
  expect(page.status).toBe(200);
  expect(page.body.details).toEqual({ totalResult: 5, offset: 1, limit: 2 });
  expect(page.body.result.map((p: any) => p.name)).toEqual(['List Delta', 'List Charlie']);
  const bad = await api.get('/management/v1/projects?sort=secret&limit=5000');
  expect(bad.status).toBe(400);
  expect(bad.body.issues.map((i: any) => i.path).sort()).toEqual(['limit', 'sort']);
});

describe('errors are application/problem+json with a stable code', () => {
  test.each([
    ['invalid body', 'post', '/management/v1/projects', { name: 42 }, 400, 'invalid_input'],
    ['unknown id', 'get', '/management/v1/projects/123', undefined, 404, 'project.not_found'],
    ['rule violated', 'post', '/management/v1/users/machine', { username: 'has space', name: 'x' }, 400, 'invalid_input'],
    ['unknown route', 'get', '/management/v1/nothing-here', undefined, 404, 'route.not_found'],
  ] as const)('%s', async (_what, method, path, body, status, code) => {
    const res = await client(srv.port, inst.domain, owner.token)[method](path, body);
    expect(res.status).toBe(status);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.body).toMatchObject({ type: expect.stringContaining(code), title: expect.any(String), status, code, detail: expect.any(String) });
  });

  test("a duplicate is 409 with the domain's reason code", async () => {
    const api = client(srv.port, inst.domain, owner.token);
    await api.post('/management/v1/projects', { name: 'Twice' });
    expect((await api.post('/management/v1/projects', { name: 'Twice' })).body).toMatchObject({ status: 409, code: 'project.name_taken' });
  });
});

describe('the OpenAPI document and reference page', () => {
  test('/openapi.json is OpenAPI 3.1 with every route, its permission and its schemas', async () => {
    const res = await request(srv.port, inst.domain, 'GET', '/openapi.json');
    expect(res.status).toBe(200);
    const doc = res.body;
    expect(doc.openapi).toBe('3.1.0');
    const ops = Object.entries<any>(doc.paths).flatMap(([p, item]) => Object.keys(item).map((m) => `${m} ${p}`));
    const routes = allGroups.flatMap((g) => g.routes.map((r) => `${r.method} ${g.prefix}${r.path}`));
    expect(ops.sort()).toEqual(routes.sort());
    const ids = Object.values<any>(doc.paths).flatMap((item) => Object.values<any>(item).map((op) => op.operationId));
    expect(new Set(ids).size).toBe(ids.length);
    // Every operation but the Auth API's names the permission it needs.
    const unnamed = Object.entries<any>(doc.paths)
      .filter(([p]) => !p.startsWith('/auth/') && !p.startsWith('/system/'))
      .flatMap(([p, item]) =>
        Object.entries<any>(item)
          .filter(([, op]) => !op['x-permission'])
          .map(([m]) => `${m} ${p}`),
      );
    expect(unnamed).toEqual([]);
    const access = doc.paths['/management/v1/users/{userId}/access'].get;
    expect(access['x-permission']).toBe('user.grant.read');
    expect(access.parameters.map((p: any) => p.name)).toEqual(expect.arrayContaining(['userId', 'client_id']));
    const grant = doc.paths['/management/v1/projects/{projectId}/grants'].post;
    expect(grant.requestBody.content['application/json'].schema.required).toEqual(expect.arrayContaining(['grantedOrgId', 'roleKeys']));
    expect(doc.components.schemas.Problem.properties.code).toBeDefined();
  });

  test('/docs/api renders the same operations as HTML, without script', async () => {
    const res = await request(srv.port, inst.domain, 'GET', '/docs/api');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/text\/html/);
    expect(res.text).toContain('/management/v1/users/{userId}/access');
    expect(res.text).not.toContain('<script');
  });
});

describe('System API', () => {
  test('creates and reads instances with a system key; anything else is 401', async () => {
    const sys = client(srv.port, 'any-host.example', SYSTEM_KEY);
    const domain = `sys-${Date.now()}.test`;
    const created = await sys.post('/system/v1/instances', {
      name: 'Via API',
      domains: [domain],
      orgName: 'First',
      admin: { username: 'root', email: 'root@example.com' },
    });
    expect(created.status).toBe(201);
    expect(created.body.generatedPassword).toEqual(expect.any(String));
    const read = await sys.get(`/system/v1/instances/${created.body.instanceId}`);
    expect(read.body).toMatchObject({ name: 'Via API', domains: [{ domain, isPrimary: true }] });

    expect((await sys.post(`/system/v1/instances/${created.body.instanceId}/domains`, { domain: `alias-${domain}` })).status).toBe(204);
    expect((await sys.post(`/system/v1/instances/${created.body.instanceId}/domains`, { domain: inst.domain })).body).toMatchObject({
      status: 409,
      code: 'instance_domain.taken',
    });
    expect((await sys.get('/system/v1/instances/nope')).status).toBe(404);

    expect((await client(srv.port, 'any-host.example', 'wrong-key-0123456789abcdef').get('/system/v1/instances')).status).toBe(401);
    expect((await client(srv.port, inst.domain, owner.token).get('/system/v1/instances')).status).toBe(401);
  });

  test('an instance admin cannot change instance domains', async () => {
    const iam = await machineCaller(rt, inst, inst.orgId, [{ level: 'instance', roles: ['IAM_OWNER'] }]);
    const res = await client(srv.port, inst.domain, iam.token).post(`/system/v1/instances/${inst.instanceId}/domains`, { domain: 'stolen.test' });
    expect(res.status).toBe(401);
    expect((await listInstanceDomains(inst.scope)).map((d) => d.domain)).toEqual([inst.domain]);
  });
});
