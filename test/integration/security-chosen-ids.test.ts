import type { Runtime } from '../../src/runtime/index.js';
import { createOrg } from '../../src/domain/org/service.js';
import { createHumanUser } from '../../src/domain/user/service.js';
import { createProject } from '../../src/domain/project/service.js';
import { createApplication } from '../../src/domain/project/applications.js';
import { testInstance, testRuntime, type TestInstance } from '../support/runtime.js';
import { newId } from '../../src/shared/ids.js';
import { client, machineCaller, serve, systemCtx, type Caller, type Served } from './api-client.js';

/**
 * Ids are unique in an instance, across its orgs. Were a caller to choose the id of what it
 * creates, "409: taken" against "201: created" would tell it which ids exist in orgs it cannot
 * see. So ids are the server's to choose: a create that names one is refused before anything is
 * looked up, the same way whether the id is used elsewhere or not.
 */
let rt: Runtime;
let srv: Served;
let inst: TestInstance;
let mine: string;
let owner: Caller;
let foreignUser: string;
let foreignProject: string;
let foreignOrg: string;

beforeAll(async () => {
  rt = await testRuntime();
  srv = await serve(rt);
  inst = await testInstance(rt, 'Chosen ids');
  const sys = systemCtx(inst, rt);
  mine = (await createOrg(sys, { name: 'Mine' })).id;
  foreignOrg = (await createOrg(sys, { name: 'Theirs' })).id;
  foreignUser = (await createHumanUser(sys, { orgId: foreignOrg, username: 'hidden', email: 'hidden@example.com', password: 'Hidden-Passw0rd!' })).id;
  foreignProject = (await createProject(sys, { orgId: foreignOrg, name: 'Hidden project' })).id;
  owner = await machineCaller(rt, inst, mine, [{ level: 'org', roles: ['ORG_OWNER'] }]);
});
afterAll(async () => {
  await srv.close();
  await rt.close();
});

const as = () => client(srv.port, inst.domain, owner.token, { 'x-org-id': mine });

/** The answer with what differs per attempt (the id echoed in a message) taken out. */
const shape = (r: { status: number; body: any }) => ({
  status: r.status,
  code: r.body?.code,
  detail: String(r.body?.detail ?? '').replaceAll(/[0-9A-Za-z_-]{10,}/g, '<id>'),
});

const creates: [string, string, (id: string) => Record<string, unknown>, () => string][] = [
  ['a human user', '/management/v1/users/human', (id) => ({ id, username: `h${id}`, email: `h${id}@example.com` }), () => foreignUser],
  ['a machine user', '/management/v1/users/machine', (id) => ({ id, username: `m${id}`, name: 'Bot' }), () => foreignUser],
  ['a project', '/management/v1/projects', (id) => ({ id, name: `P ${id}` }), () => foreignProject],
];

describe.each(creates)('creating %s with an id of my choosing', (_what, path, body, taken) => {
  test('answers the same whether the id exists in another org or is unused, and creates nothing', async () => {
    const unused = newId();
    const onTaken = await as().post(path, body(taken()));
    const onUnused = await as().post(path, body(unused));
    expect(shape(onTaken)).toEqual(shape(onUnused));
    expect(onUnused.status).toBe(400);
    expect(onUnused.body.code).toBe('invalid_input');
    expect(
      await inst.scope
        .table(path.includes('project') ? 'projects' : 'users')
        .where({ id: unused })
        .first(),
    ).toBeUndefined();
  });

  test('without an id, the server chooses one', async () => {
    const { id: _ignored, ...rest } = body(newId());
    const created = await as().post(path, rest);
    expect(created.status).toBe(201);
    expect(created.body.id).toMatch(/^[0-9]+$/);
  });
});

test('the same holds for orgs', async () => {
  const iamOwner = await machineCaller(rt, inst, inst.orgId, [{ level: 'instance', roles: ['IAM_OWNER'] }]);
  const api = client(srv.port, inst.domain, iamOwner.token);
  const onTaken = await api.post('/management/v1/orgs', { id: foreignOrg, name: 'Copy' });
  const onUnused = await api.post('/management/v1/orgs', { id: newId(), name: 'Fresh' });
  expect(shape(onTaken)).toEqual(shape(onUnused));
  expect(onUnused.status).toBe(400);
});

test("the same holds for an application's client id", async () => {
  const sys = systemCtx(inst, rt);
  const hidden = await createApplication(sys, foreignProject, {
    name: 'Hidden app',
    appType: 'web',
    authMethod: 'none',
    redirectUris: ['https://hidden.example/cb'],
  });
  const project = (await as().post('/management/v1/projects', { name: `Apps ${newId()}` })).body.id as string;
  const app = (clientId: string) => ({ name: `App ${newId()}`, appType: 'api', authMethod: 'client_secret_basic', clientId });
  const onTaken = await as().post(`/management/v1/projects/${project}/apps`, app(hidden.clientId));
  const onUnused = await as().post(`/management/v1/projects/${project}/apps`, app(`unused-${newId()}`));
  expect(shape(onTaken)).toEqual(shape(onUnused));
  expect(onUnused.status).toBe(400);
  const { clientId: _none, ...chosenByServer } = app('x');
  const created = await as().post(`/management/v1/projects/${project}/apps`, chosenByServer);
  expect(created.status).toBe(201);
  expect(created.body.clientId).toBeTruthy();
});
