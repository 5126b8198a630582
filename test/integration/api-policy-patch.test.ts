import { testRuntime, testInstance, type TestInstance } from '../support/runtime.js';
import type { Runtime } from '../../src/runtime/index.js';
import { createOrg } from '../../src/domain/org/service.js';
import { newId } from '../../src/shared/ids.js';
import { client, machineCaller, serve, systemCtx, type Served } from './api-client.js';

/** PATCH changes the fields it names and nothing else; PUT still replaces the whole policy. */
let rt: Runtime;
let srv: Served;
let inst: TestInstance;
let admin: ReturnType<typeof client>;

beforeAll(async () => {
  rt = await testRuntime();
  srv = await serve(rt);
  inst = await testInstance(rt, 'Patch');
  admin = client(srv.port, inst.domain, (await machineCaller(rt, inst, inst.orgId, [{ level: 'instance', roles: ['IAM_OWNER'] }])).token);
});
afterAll(async () => {
  await srv.close();
  await rt.close();
});

async function orgOwner() {
  const org = (await createOrg(systemCtx(inst, rt), { name: `Org ${newId()}` })).id;
  return client(srv.port, inst.domain, (await machineCaller(rt, inst, org, [{ level: 'org', roles: ['ORG_OWNER'] }])).token);
}

test('an instance default changed by PATCH keeps every field not sent', async () => {
  expect((await admin.put('/admin/v1/policies/password_complexity', { minLength: 12, hasSymbol: true, hasUppercase: false })).status).toBe(200);
  const patched = await admin.patch('/admin/v1/policies/password_complexity', { minLength: 10 });
  expect(patched).toMatchObject({ status: 200, body: { settings: { minLength: 10, hasSymbol: true, hasUppercase: false, hasLowercase: true } } });
  expect((await admin.get('/admin/v1/policies/password_complexity')).body.settings).toEqual(patched.body.settings);
});

test("an org that follows the instance default gets its own policy from the default's values and the patch", async () => {
  expect((await admin.put('/admin/v1/policies/lockout', { maxPasswordAttempts: 4, showLockoutFailures: true })).status).toBe(200);
  const owner = await orgOwner();
  expect((await owner.get('/management/v1/policies/lockout')).body.isDefault).toBe(true);
  const patched = await owner.patch('/management/v1/policies/lockout', { maxPasswordAttempts: 7 });
  expect(patched).toMatchObject({ status: 200, body: { isDefault: false, settings: { maxPasswordAttempts: 7, showLockoutFailures: true } } });
});

test("an org's login policy: PATCH keeps the rest, PUT resets what it does not send", async () => {
  const owner = await orgOwner();
  await owner.put('/management/v1/policies/login', { allowRegister: true, forceMfa: true, defaultRedirectUri: 'https://app.example.com/' });
  const patched = await owner.patch('/management/v1/policies/login', { hidePasswordReset: true });
  expect(patched.body.settings).toMatchObject({ allowRegister: true, forceMfa: true, hidePasswordReset: true, defaultRedirectUri: 'https://app.example.com/' });
  const put = await owner.put('/management/v1/policies/login', { hidePasswordReset: false });
  expect(put.body.settings).toMatchObject({ allowRegister: false, forceMfa: false, hidePasswordReset: false, defaultRedirectUri: '' });
});

test('a bad patch is refused and changes nothing; a stale If-Match answers 412', async () => {
  const owner = await orgOwner();
  const first = await owner.patch('/management/v1/policies/login', { allowRegister: true });
  expect(first.status).toBe(200);
  const etag = first.headers.etag as string;
  for (const body of [{ allowRegister: 'yes' }, { noSuchField: true }, { defaultRedirectUri: 'javascript:alert(1)' }]) {
    expect(await owner.patch('/management/v1/policies/login', body)).toMatchObject({ status: 400, body: { code: 'invalid_input' } });
  }
  expect((await owner.patch('/management/v1/policies/login', { forceMfa: true }, { 'if-match': etag })).status).toBe(200);
  expect((await owner.patch('/management/v1/policies/login', { forceMfa: false }, { 'if-match': etag })).status).toBe(412);
  expect((await owner.get('/management/v1/policies/login')).body.settings).toMatchObject({ allowRegister: true, forceMfa: true });
});

test('patches are audited with the fields they changed', async () => {
  const owner = await orgOwner();
  await owner.patch('/management/v1/policies/privacy', { helpLink: 'https://help.example.com' });
  const events = (await admin.get('/admin/v1/events?type=org.policy.privacy.changed')).body.result;
  expect(events.at(-1)).toMatchObject({ payload: { fields: ['helpLink'], settings: { helpLink: 'https://help.example.com' } } });
});
