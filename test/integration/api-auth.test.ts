import { testRuntime, testInstance, type TestInstance } from '../support/runtime.js';
import type { Runtime } from '../../src/runtime/index.js';
import { client, machineCaller, serve, type Served } from './api-client.js';

let rt: Runtime;
let srv: Served;
let inst: TestInstance;
beforeAll(async () => {
  rt = await testRuntime({ systemApiKeys: [{ id: 'ops', key: 'system-key-0123456789' }] });
  srv = await serve(rt);
  inst = await testInstance(rt, 'Auth');
});
afterAll(async () => {
  await srv.close();
  await rt.close();
});

test('a personal access token of a machine user authenticates management calls', async () => {
  const owner = await machineCaller(rt, inst, inst.orgId, [{ level: 'org', roles: ['ORG_OWNER'] }]);
  const res = await client(srv.port, inst.domain, owner.token).get(`/management/v1/users/${owner.userId}`);
  expect(res.status).toBe(200);
  expect(res.body).toMatchObject({ id: owner.userId, type: 'machine', orgId: inst.orgId });
  expect(res.headers.etag).toBe(`"${res.body.version}"`);
});

test("no token, an unknown token and another instance's token are refused with 401 problem+json", async () => {
  const other = await testInstance(rt, 'Other');
  const foreign = await machineCaller(rt, other, other.orgId, [{ level: 'instance', roles: ['IAM_OWNER'] }]);
  for (const token of [undefined, 'not-a-token', foreign.token]) {
    const res = await client(srv.port, inst.domain, token).get('/management/v1/users');
    expect(res.status).toBe(401);
    expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
    expect(res.body).toMatchObject({ status: 401, code: 'unauthenticated' });
  }
});

test('a locked user or a deactivated org stops the token at once', async () => {
  const iam = await machineCaller(rt, inst, inst.orgId, [{ level: 'instance', roles: ['IAM_OWNER'] }]);
  const api = client(srv.port, inst.domain, iam.token);
  const { id: orgId } = (await api.post('/management/v1/orgs', { name: 'Short-lived' })).body;
  const bot = await machineCaller(rt, inst, orgId, [{ level: 'org', roles: ['ORG_OWNER'] }]);
  const me = client(srv.port, inst.domain, bot.token);
  expect((await me.get('/auth/v1/users/me')).status).toBe(200);
  expect((await api.post(`/management/v1/users/${bot.userId}/_lock`, undefined, { 'x-org-id': orgId })).status).toBe(204);
  expect((await me.get('/auth/v1/users/me')).status).toBe(401);
  expect((await api.post(`/management/v1/users/${bot.userId}/_unlock`, undefined, { 'x-org-id': orgId })).status).toBe(204);
  expect((await me.get('/auth/v1/users/me')).status).toBe(200);
  expect((await api.post('/management/v1/orgs/me/_deactivate', undefined, { 'x-org-id': orgId })).status).toBe(204);
  expect((await me.get('/auth/v1/users/me')).body).toMatchObject({ status: 401, code: 'unauthenticated' });
});
