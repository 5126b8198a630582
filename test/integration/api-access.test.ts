import { testRuntime, testInstance, type TestInstance } from '../support/runtime.js';
import type { Runtime } from '../../src/runtime/index.js';
import { seedScenario, type SeedScenario } from '../support/seed.js';
import { authorize, discover, localRequest, login } from '../support/rp.js';
import { createProject, updateProject } from '../../src/domain/project/service.js';
import { createApplication } from '../../src/domain/project/applications.js';
import { createIdp } from '../../src/domain/idp/service.js';
import { setOrgPolicy } from '../../src/domain/policy/service.js';
import { client, machineCaller, serve, type Served } from './api-client.js';
import { API_SCOPE } from '../../src/api/oidc-tokens.js';

/** The roles explanation on the seed scenario, checked against the tokens the provider really issues. */
let rt: Runtime;
let srv: Served;
let inst: TestInstance;
let seed: SeedScenario;
const ROLES = 'urn:zitadel:iam:org:project:roles';

beforeAll(async () => {
  rt = await testRuntime();
  srv = await serve(rt);
  inst = await testInstance(rt, 'Access');
  seed = await seedScenario(rt, inst);
});
afterAll(async () => {
  await srv.close();
  await rt.close();
});

const issuer = () => `http://${inst.domain}:${srv.port}`;

/** Logs a seeded user in to a project's app and returns its access token and the roles userinfo releases. */
async function signIn(user: { loginName: string; password: string }, app: { clientId: string; redirectUri: string }) {
  const rp = { issuer: issuer(), clientId: app.clientId, redirectUri: app.redirectUri, auth: 'none' as const };
  const config = await discover(rp);
  const { tokens } = await login(config, rp, {
    loginName: user.loginName,
    password: user.password,
    scope: `openid urn:zitadel:iam:org:projects:roles ${API_SCOPE}`,
  });
  const userinfo = await localRequest(new URL(config.serverMetadata().userinfo_endpoint!), { headers: { authorization: `Bearer ${tokens.access_token}` } });
  return { accessToken: tokens.access_token, roles: JSON.parse(userinfo.body)[ROLES] ?? {} };
}

test('Alice (of Alpha) holds Accountant on Time Tracking, given by Beta through its project grant', async () => {
  const alphaOwner = await machineCaller(rt, inst, seed.orgs.alpha.id, [{ level: 'org', roles: ['ORG_OWNER'] }]);
  const { alice } = seed.users;
  const tt = seed.projects.timeTracking;
  const res = await client(srv.port, inst.domain, alphaOwner.token).get(
    `/management/v1/users/${alice.id}/access?client_id=${encodeURIComponent(tt.app.clientId)}`,
  );
  expect(res.status).toBe(200);
  expect(res.body).toMatchObject({
    userId: alice.id,
    projectId: tt.id,
    roles: [
      {
        key: 'Accountant',
        grantedBy: [
          {
            userGrantId: seed.userGrants.aliceAccountant,
            via: 'project_grant',
            projectGrantId: seed.projectGrants.timeTrackingToBeta,
            givingOrg: { id: seed.orgs.beta.id, name: 'Beta', primaryDomain: seed.orgs.beta.domain },
            project: { id: tt.id, name: 'Time Tracking', ownerOrgId: seed.orgs.acme.id },
          },
        ],
      },
    ],
    rolesClaim: { Accountant: { [seed.orgs.beta.id]: seed.orgs.beta.domain } },
    ignoredGrants: [],
    login: { allowed: true },
  });

  // The explanation says exactly what the token carries.
  const { roles } = await signIn(alice, tt.app);
  expect(roles).toEqual(res.body.rolesClaim);
});

test("the Auth API explains the caller's own access, and the checks that would refuse a login", async () => {
  const { eric } = seed.users;
  const portal = seed.projects.portal;
  const { accessToken } = await signIn(eric, portal.app);
  const me = client(srv.port, `${inst.domain}:${srv.port}`, accessToken); // the issuer's origin
  const before = await me.get(`/auth/v1/users/me/access?client_id=${encodeURIComponent(portal.app.clientId)}`);
  expect(before.body).toMatchObject({ rolesClaim: { reader: { [seed.orgs.demoCustomer.id]: seed.orgs.demoCustomer.domain } }, login: { allowed: true } });

  // Demo-Vendor turns on projectRoleCheck and the grant to Demo-Customer is deactivated: Eric's grant counts for nothing.
  const vendor = await machineCaller(rt, inst, seed.orgs.demoVendor.id, [{ level: 'org', roles: ['ORG_OWNER'] }]);
  const api = client(srv.port, inst.domain, vendor.token);
  expect((await api.patch(`/management/v1/projects/${portal.id}`, { projectRoleCheck: true, hasProjectCheck: true })).status).toBe(200);
  expect((await api.post(`/management/v1/projects/${portal.id}/grants/${seed.projectGrants.portalToDemoCustomer}/_deactivate`)).status).toBe(204);

  const after = await me.get(`/auth/v1/users/me/access?client_id=${encodeURIComponent(portal.app.clientId)}`);
  expect(after.body).toMatchObject({
    roles: [],
    rolesClaim: {},
    ignoredGrants: [{ userGrantId: seed.userGrants.ericReader, reason: 'the project grant it was made under is deactivated' }],
    login: { allowed: false },
  });
  const checks = Object.fromEntries(after.body.login.checks.map((c: any) => [c.check, c]));
  expect(checks.projectRoleCheck).toMatchObject({ enabled: true, passed: false, reason: 'the user holds no active grant on the project' });
  expect(checks.hasProjectCheck).toMatchObject({ enabled: true, passed: false });
  expect(checks.hasProjectCheck.reason).toContain('neither owns the project nor holds an active grant');
});

test("the README session: a project made, granted and given through the API shows up in the user's next token", async () => {
  const acmeOwner = await machineCaller(rt, inst, seed.orgs.acme.id, [{ level: 'org', roles: ['ORG_OWNER'] }]);
  const betaOwner = await machineCaller(rt, inst, seed.orgs.beta.id, [{ level: 'org', roles: ['ORG_OWNER'] }]);
  const acme = client(srv.port, inst.domain, acmeOwner.token);
  const beta = client(srv.port, inst.domain, betaOwner.token);

  const { id: projectId } = (await acme.post('/management/v1/projects', { name: 'Billing' })).body;
  expect((await acme.post(`/management/v1/projects/${projectId}/roles`, { key: 'viewer', displayName: 'Viewer' })).status).toBe(204);
  const app = (
    await acme.post(`/management/v1/projects/${projectId}/apps`, {
      name: 'Billing Web',
      appType: 'web',
      authMethod: 'none',
      redirectUris: ['http://localhost/cb'],
    })
  ).body;
  expect((await acme.post(`/management/v1/projects/${projectId}/grants`, { grantedOrgId: seed.orgs.beta.id, roleKeys: ['viewer'] })).status).toBe(201);

  const bob = (await beta.get(`/management/v1/users/_by_login_name?login_name=${encodeURIComponent(seed.users.bob.loginName)}`)).body;
  expect((await beta.post('/management/v1/user_grants', { userId: bob.id, projectId, roleKeys: ['viewer'] })).status).toBe(201);

  const { roles } = await signIn(seed.users.bob, { clientId: app.clientId, redirectUri: 'http://localhost/cb' });
  expect(roles).toEqual({ viewer: { [seed.orgs.beta.id]: seed.orgs.beta.domain } });
});

test("the explanation names the login policy the user meets: the project owner's under private labeling, else their own org's", async () => {
  const { ctx } = seed;
  const { alice } = seed.users;
  const acme = seed.orgs.acme;
  const { id: projectId } = await createProject(ctx, { orgId: acme.id, name: 'Wiki', privateLabelingSetting: 'enforce_project_resource_owner_policy' });
  const app = await createApplication(ctx, projectId, { name: 'Wiki Web', appType: 'web', authMethod: 'none', redirectUris: ['http://localhost/cb'] });
  const { id: idpId } = await createIdp(ctx, { orgId: acme.id, name: 'ACME Google', issuer: 'https://accounts.example.com', clientId: 'x', clientSecret: 'y' });
  await setOrgPolicy(ctx, acme.id, 'login', { forceMfa: true, allowExternalIdp: true, idpIds: [idpId] });
  const alphaOwner = await machineCaller(rt, inst, seed.orgs.alpha.id, [{ level: 'org', roles: ['ORG_OWNER'] }]);
  const explain = async () =>
    (await client(srv.port, inst.domain, alphaOwner.token).get(`/management/v1/users/${alice.id}/access?client_id=${encodeURIComponent(app.clientId)}`)).body;

  expect((await explain()).loginPolicy).toEqual({
    org: { id: acme.id, name: 'ACME' },
    source: 'project',
    policyOf: 'org',
    methods: { password: true, passkey: true, userPasskeys: 0, idps: [{ id: idpId, name: 'ACME Google', linked: false }], register: false },
    mfa: { forced: true, localOnly: false, secondFactors: ['totp', 'u2f'], userHasTotp: false, afterPassword: 'setup', afterIdp: 'setup' },
  });
  // The login pages agree: after her password, Alice is asked to set up an authenticator.
  const rp = { issuer: issuer(), clientId: app.clientId, redirectUri: 'http://localhost/cb', auth: 'none' as const };
  const outcome = await authorize(await discover(rp), rp, { loginName: alice.loginName, password: alice.password });
  expect(outcome.callback).toBeUndefined();
  // (the walk posts the set-up form it finds, without a code: it stops on that step)
  expect(outcome.page!.url.pathname).toMatch(/\/mfa\/setup$/);

  // Without private labeling Alice meets her own org's policy, the instance default: no second factor.
  await updateProject(ctx, projectId, { privateLabelingSetting: 'unspecified' });
  expect((await explain()).loginPolicy).toMatchObject({
    org: { id: seed.orgs.alpha.id, name: 'Alpha' },
    source: 'user',
    policyOf: 'instance',
    methods: { idps: [] },
    mfa: { forced: false, afterPassword: 'none' },
  });
  const { roles } = await signIn(alice, { clientId: app.clientId, redirectUri: 'http://localhost/cb' });
  expect(roles).toEqual({});
});
