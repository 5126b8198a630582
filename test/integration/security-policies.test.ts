import { testRuntime, testInstance, type TestInstance } from '../support/runtime.js';
import type { Runtime } from '../../src/runtime/index.js';
import { createOrg } from '../../src/domain/org/service.js';
import { newId } from '../../src/shared/ids.js';
import * as migration007 from '../../migrations/007_policy_http_urls.js';
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
afterAll(async () => {
  await srv.close();
  await rt.close();
});

async function orgWithOwner(): Promise<{ org: string; owner: ReturnType<typeof client>; admin: ReturnType<typeof client> }> {
  const org = (await createOrg(systemCtx(inst, rt), { name: `Org ${newId()}` })).id;
  const caller = await machineCaller(rt, inst, org, [{ level: 'org', roles: ['ORG_OWNER'] }]);
  return { org, owner: client(srv.port, inst.domain, caller.token), admin: client(srv.port, inst.domain, iamOwner.token, { 'x-org-id': org }) };
}

describe("whether an org's domains need proof is the instance managers' setting", () => {
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

  test("an org owner cannot reset or patch the org's domain policy either", async () => {
    const { owner, admin } = await orgWithOwner();
    expect((await admin.put('/management/v1/policies/domain', { validateOrgDomains: true, userLoginMustBeDomain: true })).status).toBe(200);
    expect(await owner.delete('/management/v1/policies/domain')).toMatchObject({ status: 403, body: { code: 'permission_denied' } });
    expect(await owner.patch('/management/v1/policies/domain', { validateOrgDomains: false })).toMatchObject({
      status: 403,
      body: { code: 'permission_denied' },
    });
    expect((await owner.get('/management/v1/policies/domain')).body.isDefault).toBe(false);
  });

  test("an instance manager sets it for the org; the org owner's other policies stay the owner's", async () => {
    const { owner, admin } = await orgWithOwner();
    const off = await admin.put('/management/v1/policies/domain', { validateOrgDomains: false });
    expect(off).toMatchObject({ status: 200, body: { settings: { validateOrgDomains: false } } });
    const domain = `trusted-${newId()}.example.com`;
    expect(await owner.post('/management/v1/orgs/me/domains', { domain })).toMatchObject({ status: 201, body: { verified: true } });
    expect((await owner.put('/management/v1/policies/lockout', { maxPasswordAttempts: 3 })).status).toBe(200);
  });
});

describe('URLs in policies are http(s) only', () => {
  const bad = [
    'javascript:alert(document.cookie)',
    'JavaScript:alert(1)',
    'data:text/html,<script>alert(1)</script>',
    'vbscript:msgbox(1)',
    'file:///etc/passwd',
  ];

  test.each(bad)("a login policy's defaultRedirectUri %s is refused, at the org and the instance", async (uri) => {
    const { owner } = await orgWithOwner();
    const org = await owner.put('/management/v1/policies/login', { defaultRedirectUri: uri });
    expect(org).toMatchObject({ status: 400, body: { code: 'invalid_input' } });
    expect(org.body.detail).toContain('defaultRedirectUri');
    const admin = await client(srv.port, inst.domain, iamOwner.token).put('/admin/v1/policies/login', { defaultRedirectUri: uri });
    expect(admin).toMatchObject({ status: 400, body: { code: 'invalid_input' } });
    expect((await owner.get('/management/v1/policies/login')).body.settings.defaultRedirectUri).toBe('');
  });

  test.each(['tosLink', 'privacyLink', 'helpLink'])("the privacy policy's %s takes no javascript: either", async (field) => {
    const { owner } = await orgWithOwner();
    expect(await owner.put('/management/v1/policies/privacy', { [field]: 'javascript:alert(1)' })).toMatchObject({
      status: 400,
      body: { code: 'invalid_input' },
    });
  });

  test('http and https URLs, and none, are accepted', async () => {
    const { owner } = await orgWithOwner();
    for (const uri of ['https://app.example.com/home', 'http://localhost:3000/', '']) {
      const res = await owner.put('/management/v1/policies/login', { defaultRedirectUri: uri });
      expect(res).toMatchObject({ status: 200, body: { settings: { defaultRedirectUri: uri } } });
    }
    expect((await owner.put('/management/v1/policies/privacy', { tosLink: 'https://example.com/tos', helpLink: 'http://help.example.com' })).status).toBe(200);
  });

  test("an identity provider's issuer is http(s) only", async () => {
    const { owner } = await orgWithOwner();
    const res = await owner.post('/management/v1/idps', { name: 'Evil', issuer: 'javascript:alert(1)//', clientId: 'c', clientSecret: 's' });
    expect(res).toMatchObject({ status: 400, body: { code: 'invalid_input' } });
  });
});

test("a javascript: URL stored before the rule is cleared by the migration, so the org's pages keep working", async () => {
  const { org, owner } = await orgWithOwner();
  await inst.scope.insert('policies', {
    kind: 'login',
    org_id: org,
    settings: JSON.stringify({ defaultRedirectUri: 'javascript:alert(1)', allowRegister: true }),
  });
  await inst.scope.insert('policies', {
    kind: 'privacy',
    org_id: org,
    settings: JSON.stringify({ helpLink: 'https://help.example.com', tosLink: ' javascript:alert(1)' }),
  });
  await migration007.up(rt.db.knex);
  expect((await owner.get('/management/v1/policies/login')).body.settings).toMatchObject({ defaultRedirectUri: '', allowRegister: true });
  expect((await owner.get('/management/v1/policies/privacy')).body.settings).toMatchObject({ tosLink: '', helpLink: 'https://help.example.com' });
});
