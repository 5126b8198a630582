import { testRuntime, testInstance, type TestInstance } from '../support/runtime.js';
import type { Runtime } from '../../src/runtime.js';
import { createOrg } from '../../src/domain/org/service.js';
import { newId } from '../../src/shared/ids.js';
import { client, machineCaller, serve, systemCtx, type Caller, type Served } from './api-client.js';

/** Policy settings an org's own managers must not be able to turn against others, or against their users. */
let rt: Runtime;
let srv: Served;
let inst: TestInstance;
let iamOwner: Caller;

beforeAll(async () => {
  rt = await testRuntime();
  srv = await serve(rt);
  inst = await testInstance(rt, 'Policies');
  iamOwner = await machineCaller(rt, inst, inst.orgId, [{ level: 'instance', roles: ['IAM_OWNER'] }]);
});
afterAll(async () => { await srv.close(); await rt.close(); });

async function orgWithOwner(): Promise<{ org: string; owner: ReturnType<typeof client>; admin: ReturnType<typeof client> }> {
  const org = (await createOrg(systemCtx(inst, rt), { name: `Org ${newId()}` })).id;
  const caller = await machineCaller(rt, inst, org, [{ level: 'org', roles: ['ORG_OWNER'] }]);
  return { org, owner: client(srv.port, inst.domain, caller.token), admin: client(srv.port, inst.domain, iamOwner.token, { 'x-org-id': org }) };
}

describe('whether an org\'s domains need proof is the instance managers\' setting', () => {
  test('an org owner cannot switch domain validation off, and so cannot claim a domain it does not control', async () => {
    const { owner } = await orgWithOwner();
    const off = await owner.put('/management/v1/policies/domain', { validateOrgDomains: false });
    expect(off).toMatchObject({ status: 403, body: { code: 'permission_denied' } });
    expect((await owner.get('/management/v1/policies/domain')).body.settings.validateOrgDomains).toBe(true);

    const victim = `victim-${newId()}.example.com`;
    const added = await owner.post('/management/v1/orgs/me/domains', { domain: victim });
    expect(added).toMatchObject({ status: 201, body: { verified: false } });
    const verify = await owner.post(`/management/v1/orgs/me/domains/${victim}/_verify`);
    expect(verify).toMatchObject({ status: 422, body: { code: 'org_domain.verification_failed' } });
    expect((await owner.get('/management/v1/orgs/me/domains')).body.find((d: { domain: string }) => d.domain === victim).isVerified).toBe(false);
  });

  test('an org owner cannot reset the org\'s domain policy either', async () => {
    const { owner, admin } = await orgWithOwner();
    expect((await admin.put('/management/v1/policies/domain', { validateOrgDomains: true, userLoginMustBeDomain: true })).status).toBe(200);
    expect(await owner.delete('/management/v1/policies/domain')).toMatchObject({ status: 403, body: { code: 'permission_denied' } });
    expect((await owner.get('/management/v1/policies/domain')).body.isDefault).toBe(false);
  });

  test('an instance manager sets it for the org; the org owner\'s other policies stay the owner\'s', async () => {
    const { owner, admin } = await orgWithOwner();
    const off = await admin.put('/management/v1/policies/domain', { validateOrgDomains: false });
    expect(off).toMatchObject({ status: 200, body: { settings: { validateOrgDomains: false } } });
    const domain = `trusted-${newId()}.example.com`;
    expect(await owner.post('/management/v1/orgs/me/domains', { domain })).toMatchObject({ status: 201, body: { verified: true } });
    expect((await owner.put('/management/v1/policies/lockout', { maxPasswordAttempts: 3 })).status).toBe(200);
  });
});
