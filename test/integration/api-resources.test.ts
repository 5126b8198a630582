import { testRuntime, testInstance, type TestInstance } from '../support/runtime.js';
import type { Runtime } from '../../src/runtime/index.js';
import { getPolicyRow } from '../../src/domain/policy/repository.js';
import { discover, login } from '../support/rp.js';
import { API_SCOPE } from '../../src/api/oidc-tokens.js';
import { client, machineCaller, serve, type Caller, type Served } from './api-client.js';

/** Each resource of the Management and Admin APIs, driven through its routes as a manager would. */
let rt: Runtime;
let srv: Served;
let inst: TestInstance;
let iam: Caller;
let api: ReturnType<typeof client>;
beforeAll(async () => {
  rt = await testRuntime();
  srv = await serve(rt);
  inst = await testInstance(rt, 'Resources');
  iam = await machineCaller(rt, inst, inst.orgId, [{ level: 'instance', roles: ['IAM_OWNER'] }]);
  api = client(srv.port, inst.domain, iam.token);
});
afterAll(async () => {
  await srv.close();
  await rt.close();
});

test('the org: read, rename with If-Match, domains, history', async () => {
  const me = await api.get('/management/v1/orgs/me');
  expect(me.body).toMatchObject({ id: inst.orgId, name: 'Resources Org' });
  const renamed = await api.patch('/management/v1/orgs/me', { name: 'Renamed Org' }, { 'if-match': me.headers.etag as string });
  expect(renamed.body).toMatchObject({ name: 'Renamed Org', version: me.body.version + 1 });
  expect((await api.post('/management/v1/orgs/me/domains', { domain: 'renamed.example.com' })).body).toMatchObject({
    domain: 'renamed.example.com',
    verified: false,
    validationCode: expect.any(String),
  });
  const domains = (await api.get('/management/v1/orgs/me/domains')).body;
  expect(domains.map((d: any) => d.domain)).toContain('renamed.example.com');
  expect((await api.delete('/management/v1/orgs/me/domains/renamed.example.com')).status).toBe(204);
  const history = await api.get('/management/v1/orgs/me/history?type=org.renamed');
  expect(history.body.result).toEqual([expect.objectContaining({ type: 'org.renamed', actorId: iam.userId })]);
});

test('users: human and machine, metadata, lock and unlock, secrets, keys and personal access tokens', async () => {
  const human = (await api.post('/management/v1/users/human', { username: 'hanna', email: 'hanna@example.com', password: 'Hanna-Passw0rd!' })).body.id;
  const read = await api.get(`/management/v1/users/${human}`);
  expect(read.body).toMatchObject({ type: 'human', username: 'hanna', state: 'active', email: 'hanna@example.com' });
  expect(read.text).not.toMatch(/password_hash|\$argon2/);
  expect((await api.patch(`/management/v1/users/${human}`, { givenName: 'Hanna' })).body).toMatchObject({ givenName: 'Hanna' });

  expect((await api.put(`/management/v1/users/${human}/metadata/team`, { value: 'blue' })).status).toBe(204);
  expect((await api.get(`/management/v1/users/${human}/metadata`)).body).toEqual({ team: 'blue' });
  expect((await api.delete(`/management/v1/users/${human}/metadata/team`)).status).toBe(204);

  expect((await api.post(`/management/v1/users/${human}/_lock`)).status).toBe(204);
  expect((await api.get(`/management/v1/users/${human}`)).body.state).toBe('locked');
  expect((await api.post(`/management/v1/users/${human}/_lock`)).body).toMatchObject({ status: 422, code: 'user.cannot_lock' });
  expect((await api.post(`/management/v1/users/${human}/_unlock`)).status).toBe(204);
  expect((await api.put(`/management/v1/users/${human}/password`, { password: 'short' })).status).toBe(422);

  const machine = (await api.post('/management/v1/users/machine', { username: 'robo', name: 'Robo' })).body.id;
  const secret = await api.post(`/management/v1/users/${machine}/secret`);
  expect(secret.body).toEqual({ clientId: 'robo', clientSecret: expect.any(String) });
  const key = await api.post(`/management/v1/users/${machine}/keys`, {});
  expect(key.body.privateKeyPem).toContain('PRIVATE KEY');
  const keys = await api.get(`/management/v1/users/${machine}/keys`);
  expect(keys.body).toEqual([expect.objectContaining({ id: key.body.keyId })]);
  expect(keys.text).not.toContain('PRIVATE');
  const pat = await api.post(`/management/v1/users/${machine}/pats`, {});
  expect((await client(srv.port, inst.domain, pat.body.token).get('/auth/v1/users/me')).body).toMatchObject({ id: machine });
  expect((await api.get(`/management/v1/users/${machine}/pats`)).body).toEqual([expect.objectContaining({ id: pat.body.id })]);
  expect((await api.delete(`/management/v1/users/${machine}/pats/${pat.body.id}`)).status).toBe(204);
  expect((await client(srv.port, inst.domain, pat.body.token).get('/auth/v1/users/me')).status).toBe(401);
  expect((await api.post(`/management/v1/users/${human}/secret`)).body).toMatchObject({ code: 'user.not_machine' });

  const list = await api.get('/management/v1/users?type=machine&sort=username');
  expect(list.body.result.map((u: any) => u.username)).toEqual(expect.arrayContaining(['robo']));
  expect(list.body.result.every((u: any) => u.type === 'machine')).toBe(true);
  const history = await api.get(`/management/v1/users/${human}/history`);
  expect(history.body.result.map((e: any) => e.type)).toEqual(expect.arrayContaining(['user.locked', 'user.unlocked', 'user.metadata.set']));
});

test('projects: roles, apps (secret shown once), grants and members', async () => {
  const other = (await api.post('/management/v1/orgs', { name: 'Customer' })).body.id;
  const p = (await api.post('/management/v1/projects', { name: 'Shop', projectRoleAssertion: true })).body.id;
  await api.post(`/management/v1/projects/${p}/roles`, { key: 'buyer', displayName: 'Buyer', group: 'shop' });
  await api.post(`/management/v1/projects/${p}/roles`, { key: 'seller', displayName: 'Seller' });
  expect((await api.get(`/management/v1/projects/${p}/roles?group=shop`)).body.result.map((r: any) => r.key)).toEqual(['buyer']);
  expect((await api.patch(`/management/v1/projects/${p}/roles/seller`, { displayName: 'Merchant' })).status).toBe(204);

  const app = await api.post(`/management/v1/projects/${p}/apps`, { name: 'Shop API', appType: 'api', authMethod: 'client_secret_basic' });
  expect(app.body).toEqual({ id: expect.any(String), clientId: expect.any(String), clientSecret: expect.any(String) });
  const readApp = await api.get(`/management/v1/projects/${p}/apps/${app.body.id}`);
  expect(readApp.body).toMatchObject({ clientId: app.body.clientId, hasClientSecret: true });
  expect(readApp.text).not.toContain(app.body.clientSecret);
  const regenerated = await api.post(`/management/v1/projects/${p}/apps/${app.body.id}/secret`);
  expect(regenerated.body.clientSecret).not.toBe(app.body.clientSecret);

  const grant = await api.post(`/management/v1/projects/${p}/grants`, { grantedOrgId: other, roleKeys: ['buyer', 'nope'] });
  expect(grant.body).toMatchObject({ status: 422, code: 'project_grant.roles_not_subset' });
  const g = (await api.post(`/management/v1/projects/${p}/grants`, { grantedOrgId: other, roleKeys: ['buyer'] })).body.id;
  const customer = client(srv.port, inst.domain, iam.token, { 'x-zitadel-orgid': other });
  expect((await customer.get('/management/v1/granted_projects')).body.result).toEqual([
    expect.objectContaining({ projectGrantId: g, projectName: 'Shop', roleKeys: ['buyer'] }),
  ]);

  const manager = (await customer.post('/management/v1/users/human', { username: 'gm', email: 'gm@customer.example.com' })).body.id;
  expect((await customer.post(`/management/v1/granted_projects/${g}/members`, { userId: manager, roles: ['PROJECT_GRANT_OWNER'] })).status).toBe(201);
  expect((await api.get(`/management/v1/projects/${p}/grants/${g}/members`)).body.result).toEqual([
    expect.objectContaining({ userId: manager, roles: ['PROJECT_GRANT_OWNER'] }),
  ]);
  expect((await customer.post(`/management/v1/granted_projects/${g}/members`, { userId: manager, roles: ['ORG_OWNER'] })).body).toMatchObject({
    code: 'membership.role_level',
  });

  const ug = (await customer.post('/management/v1/user_grants', { userId: manager, projectId: p, roleKeys: ['buyer'] })).body.id;
  expect((await customer.get(`/management/v1/user_grants?projectId=${p}`)).body.result).toEqual([expect.objectContaining({ id: ug, projectGrantId: g })]);
  expect((await api.put(`/management/v1/projects/${p}/grants/${g}/roles`, { roleKeys: [] })).body).toMatchObject({ roleKeys: [] });
  expect((await customer.get(`/management/v1/user_grants/${ug}`)).body.roleKeys).toEqual([]);
  expect((await api.get(`/management/v1/user_grants/${ug}`)).status).toBe(404); // given by Customer, not by this org

  expect((await api.delete(`/management/v1/projects/${p}/apps/${app.body.id}`)).status).toBe(204);
  expect((await api.delete(`/management/v1/projects/${p}/roles/buyer`)).status).toBe(204);
});

test('policies: the instance default, an org override and its reset', async () => {
  const admin = await api.put('/admin/v1/policies/password_complexity', { minLength: 12 });
  expect(admin.body).toMatchObject({ kind: 'password_complexity', isDefault: true, settings: { minLength: 12, hasUppercase: true } });
  const inherited = await api.get('/management/v1/policies/password_complexity');
  expect(inherited.body).toMatchObject({ isDefault: true, settings: { minLength: 12 } });

  const own = await api.put('/management/v1/policies/password_complexity', { minLength: 20, hasSymbol: true });
  expect(own.body).toMatchObject({ isDefault: false, settings: { minLength: 20, hasSymbol: true } });
  expect((await api.put('/management/v1/policies/password_complexity', { minLength: 21 }, { 'if-match': '"99"' })).status).toBe(412);
  expect((await api.put('/management/v1/policies/lockout', { maxPasswordAttempts: -1 })).body).toMatchObject({ status: 400, code: 'invalid_input' });

  expect((await api.delete('/management/v1/policies/password_complexity')).status).toBe(204);
  expect(await getPolicyRow(inst.scope, 'password_complexity', inst.orgId)).toBeUndefined();
  expect((await api.get('/management/v1/policies/password_complexity')).body).toMatchObject({ isDefault: true, settings: { minLength: 12 } });
});

test('IdPs: the client secret is write-only; instance and org IdPs are kept apart', async () => {
  const created = await api.post('/management/v1/idps', {
    name: 'Corp SSO',
    issuer: 'https://sso.example.com',
    clientId: 'tessera',
    clientSecret: 'idp-secret-value',
  });
  expect(created.status).toBe(201);
  const read = await api.get(`/management/v1/idps/${created.body.id}`);
  expect(read.body).toMatchObject({ name: 'Corp SSO', orgId: inst.orgId, issuer: 'https://sso.example.com' });
  expect(read.text).not.toContain('idp-secret-value');
  expect((await api.get(`/admin/v1/idps/${created.body.id}`)).status).toBe(404);
  const instanceIdp = (await api.post('/admin/v1/idps', { name: 'Google', issuer: 'https://accounts.google.com', clientId: 'g', clientSecret: 's' })).body.id;
  expect((await api.get('/admin/v1/idps')).body.result.map((i: any) => i.id)).toEqual([instanceIdp]);
  expect((await api.patch(`/management/v1/idps/${created.body.id}`, { isAutoCreation: true })).body).toMatchObject({ isAutoCreation: true });
  expect((await api.delete(`/management/v1/idps/${created.body.id}`)).status).toBe(204);
});

test('the Auth API shows the caller its grants and memberships', async () => {
  const me = client(srv.port, inst.domain, iam.token);
  expect((await me.get('/auth/v1/users/me/memberships')).body).toEqual([expect.objectContaining({ level: 'instance', roles: ['IAM_OWNER'] })]);
  expect((await me.get('/auth/v1/users/me/grants')).body).toMatchObject({ details: { totalResult: 0 }, result: [] });
});

test('a human changes their own password through the Auth API, with the current one', async () => {
  const { id: p } = (await api.post('/management/v1/projects', { name: 'Self service' })).body;
  const app = (await api.post(`/management/v1/projects/${p}/apps`, { name: 'Self', appType: 'web', authMethod: 'none', redirectUris: ['http://localhost/cb'] }))
    .body;
  const human = (
    await api.post('/management/v1/users/human', { username: 'selma', email: 'selma@example.com', emailVerified: true, password: 'Selma-Passw0rd!' })
  ).body.id;
  const loginName = (await api.get(`/management/v1/users/${human}`)).body.preferredLoginName;
  const rp = { issuer: `http://${inst.domain}:${srv.port}`, clientId: app.clientId, redirectUri: 'http://localhost/cb', auth: 'none' as const };
  const config = await discover(rp);
  // A token the app got for itself is not for the API: the user's app could otherwise replay it here.
  const appOnly = await login(config, rp, { loginName, password: 'Selma-Passw0rd!' });
  expect((await client(srv.port, `${inst.domain}:${srv.port}`, appOnly.tokens.access_token).get('/auth/v1/users/me')).status).toBe(401);
  const { tokens } = await login(config, rp, { loginName, password: 'Selma-Passw0rd!', scope: `openid ${API_SCOPE}` });
  // The token's issuer is the origin it was issued at (host and port): the API checks it against the request's.
  const self = client(srv.port, `${inst.domain}:${srv.port}`, tokens.access_token);
  expect((await self.get('/auth/v1/users/me')).body).toMatchObject({ id: human, username: 'selma' });
  expect((await self.put('/auth/v1/users/me/password', { currentPassword: 'wrong', password: 'Selma-Passw0rd-2!' })).body).toMatchObject({
    status: 422,
    code: 'user.password_mismatch',
  });
  expect((await self.put('/auth/v1/users/me/password', { currentPassword: 'Selma-Passw0rd!', password: 'Selma-Passw0rd-2!' })).status).toBe(204);
  // A user without manager roles reaches none of the Management API.
  expect((await self.get('/management/v1/users')).body).toMatchObject({ status: 403, code: 'permission_denied' });
});

test('the instance name and IdP links', async () => {
  expect((await api.patch('/admin/v1/instance', { name: 'Renamed instance' })).status).toBe(204);
  expect((await api.get('/admin/v1/instance')).body).toMatchObject({ id: inst.instanceId, name: 'Renamed instance' });

  const idp = (await api.post('/management/v1/idps', { name: 'Links', issuer: 'https://links.example.com', clientId: 'c', clientSecret: 's' })).body.id;
  const user = (await api.post('/management/v1/users/human', { username: 'linda', email: 'linda@example.com' })).body.id;
  expect((await api.post(`/management/v1/users/${user}/idp_links`, { idpId: idp, externalUserId: 'ext|42' })).status).toBe(204);
  expect((await api.get(`/management/v1/users/${user}/idp_links`)).body).toEqual([expect.objectContaining({ idpId: idp, externalUserId: 'ext|42' })]);
  expect((await api.delete(`/management/v1/users/${user}/idp_links/${idp}/${encodeURIComponent('ext|42')}`)).status).toBe(204);
  expect((await api.get(`/management/v1/users/${user}/idp_links`)).body).toEqual([]);
});
