import { testRuntime, testInstance, type TestInstance } from '../support/runtime.js';
import type { Runtime } from '../../src/runtime/index.js';
import { createOrg } from '../../src/domain/org/service.js';
import { createHumanUser } from '../../src/domain/user/service.js';
import { confirmTotpEnrolment, currentStep, startTotpEnrolment, totpCodeAt } from '../../src/domain/mfa/service.js';
import { insertMembership } from '../../src/domain/membership/repository.js';
import { insertPasskey } from '../../src/domain/passkey/repository.js';
import { newId } from '../../src/shared/ids.js';
import { client, machineCaller, serve, systemCtx, type Caller, type Served } from './api-client.js';

/** A user lost their phone: their managers see their second factors and reset them over the API, audited. */
let rt: Runtime;
let srv: Served;
let inst: TestInstance;
let org: string;
let userManager: Caller;
let viewer: Caller;
let iamOwner: Caller;

beforeAll(async () => {
  rt = await testRuntime();
  srv = await serve(rt);
  inst = await testInstance(rt, 'Factors');
  org = (await createOrg(systemCtx(inst, rt), { name: 'Phones' })).id;
  userManager = await machineCaller(rt, inst, org, [{ level: 'org', roles: ['ORG_USER_MANAGER'] }]);
  viewer = await machineCaller(rt, inst, org, [{ level: 'org', roles: ['ORG_OWNER_VIEWER'] }]);
  iamOwner = await machineCaller(rt, inst, inst.orgId, [{ level: 'instance', roles: ['IAM_OWNER'] }]);
});
afterAll(async () => {
  await srv.close();
  await rt.close();
});

const as = (caller: Caller) => client(srv.port, inst.domain, caller.token, { 'x-org-id': org });

/** A human user of the org with a confirmed authenticator app (the test plays the app). */
async function userWithTotp(roles?: string[]): Promise<string> {
  const ctx = systemCtx(inst, rt);
  const { id } = await createHumanUser(ctx, { orgId: org, username: `u${newId()}`, email: `u${newId()}@example.com`, password: 'Initial-Passw0rd!' });
  if (roles) await insertMembership(inst.scope, { user_id: id, level: 'org', org_id: org, project_id: null, project_grant_id: null, roles });
  const { secret } = await startTotpEnrolment(ctx, id, { issuer: 'Tessera', accountName: id });
  await confirmTotpEnrolment(ctx, id, totpCodeAt(secret, currentStep()));
  return id;
}

test("a user manager lists a user's factors, resets them, and the reset is audited", async () => {
  const user = await userWithTotp();
  await insertPasskey(inst.scope, {
    id: newId(),
    user_id: user,
    credential_id: `cred-${newId()}`,
    public_key: Buffer.from('not a real key'),
    sign_count: 0,
    backup_eligible: true,
    backed_up: true,
    transports: ['internal'],
    aaguid: null,
    rp_id: inst.domain,
    name: 'Phone',
  });
  const listed = await as(userManager).get(`/management/v1/users/${user}/auth_factors`);
  expect(listed).toMatchObject({
    status: 200,
    body: {
      result: [
        { type: 'totp', state: 'ready', recoveryCodesLeft: 10 },
        { type: 'passkey', name: 'Phone' },
      ],
    },
  });
  expect(JSON.stringify(listed.body)).not.toMatch(/secret|public_?key|cred-/i);

  const reset = await as(userManager).delete(`/management/v1/users/${user}/auth_factors`);
  expect(reset).toMatchObject({ status: 200, body: { removed: { totp: true, passkeys: 1 } } });
  expect((await as(userManager).get(`/management/v1/users/${user}/auth_factors`)).body.result).toEqual([]);

  const history = (await as(iamOwner).get(`/management/v1/users/${user}/history?type=user.mfa.reset`)).body.result;
  expect(history).toEqual([
    expect.objectContaining({ type: 'user.mfa.reset', actorId: userManager.userId, payload: { removed: { totp: true, passkeys: 1 } } }),
  ]);
});

test('one factor can be removed by itself; removing one the user does not have answers 404', async () => {
  const user = await userWithTotp();
  expect((await as(userManager).delete(`/management/v1/users/${user}/auth_factors/otp`)).status).toBe(204);
  expect((await as(userManager).get(`/management/v1/users/${user}/auth_factors`)).body.result).toEqual([]);
  expect((await as(userManager).delete(`/management/v1/users/${user}/auth_factors/otp`)).status).toBe(404);
});

test("a viewer may list but not reset; a user manager may not reset the org owner's factors", async () => {
  const user = await userWithTotp();
  expect((await as(viewer).get(`/management/v1/users/${user}/auth_factors`)).status).toBe(200);
  expect(await as(viewer).delete(`/management/v1/users/${user}/auth_factors`)).toMatchObject({ status: 403, body: { code: 'permission_denied' } });

  const owner = await userWithTotp(['ORG_OWNER']);
  expect(await as(userManager).delete(`/management/v1/users/${owner}/auth_factors`)).toMatchObject({ status: 403, body: { code: 'permission_denied' } });
  expect(await as(userManager).delete(`/management/v1/users/${owner}/auth_factors/otp`)).toMatchObject({ status: 403, body: { code: 'permission_denied' } });
  expect((await as(iamOwner).get(`/management/v1/users/${owner}/auth_factors`)).body.result).toHaveLength(1);
  expect((await as(iamOwner).delete(`/management/v1/users/${owner}/auth_factors`)).status).toBe(200);
});

test('users of other orgs answer 404, like unknown ids', async () => {
  const user = await userWithTotp();
  const elsewhere = (await createOrg(systemCtx(inst, rt), { name: 'Elsewhere' })).id;
  const outsider = await machineCaller(rt, inst, elsewhere, [{ level: 'org', roles: ['ORG_OWNER'] }]);
  const api = client(srv.port, inst.domain, outsider.token);
  expect((await api.get(`/management/v1/users/${user}/auth_factors`)).status).toBe(404);
  expect((await api.delete(`/management/v1/users/${user}/auth_factors`)).status).toBe(404);
});
