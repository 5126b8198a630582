import type { Runtime } from '../../src/runtime/index.js';
import { updateProject } from '../../src/domain/project/service.js';
import { createApplication, updateApplication } from '../../src/domain/project/applications.js';
import { addUserGrant } from '../../src/domain/user-grant/service.js';
import { createHumanUser, createMachineUser, setUserMetadata } from '../../src/domain/user/service.js';
import { addMachineKey, generateMachineSecret } from '../../src/domain/user/credentials.js';
import { exportJWK, generateKeyPair, importPKCS8, SignJWT } from 'jose';
import { client as apiClient, machineCaller } from './api-client.js';
import { testInstance, testRuntime, type TestInstance } from '../support/runtime.js';
import { refusalMessages } from '../../src/oidc/account.js';
import { seedScenario, SEED_PASSWORD, type SeedScenario, type SeedProject, type SeedUser } from '../support/seed.js';
import { authorize, client, discover, localFetch, localRequest, login, type RpClient, serveApp } from '../support/rp.js';

const ROLES = 'urn:zitadel:iam:org:project:roles';

let rt: Runtime;
let server: { port: number; close: () => Promise<void> };
let inst: TestInstance;
let seed: SeedScenario;
let issuer: string;

beforeAll(async () => {
  rt = await testRuntime();
  server = await serveApp(rt);
  inst = await testInstance(rt, 'Roles');
  seed = await seedScenario(rt, inst);
  issuer = `http://${inst.domain}:${server.port}`;
});
afterAll(async () => {
  await server.close();
  await rt.close();
});

function rpFor(project: SeedProject): RpClient {
  return { issuer, clientId: project.app.clientId, redirectUri: project.app.redirectUri, auth: 'none' };
}

async function signIn(project: SeedProject, user: SeedUser, scope = `openid profile ${'urn:zitadel:iam:org:projects:roles'}`) {
  const rp = rpFor(project);
  const config = await discover(rp);
  const { tokens } = await login(config, rp, { loginName: user.loginName, password: user.password, scope });
  const userinfo = await client.fetchUserInfo(config, tokens.access_token, user.id);
  return { config, tokens, userinfo };
}

async function apiApp(project: SeedProject) {
  const created = await createApplication(seed.ctx, project.id, { name: `API ${Date.now()}`, appType: 'api', authMethod: 'client_secret_basic' });
  return { clientId: created.clientId, clientSecret: created.clientSecret! };
}

async function introspect(api: { clientId: string; clientSecret: string }, token: string) {
  const res = await localRequest(new URL(`${issuer}/token/introspection`), {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `Basic ${Buffer.from(`${encodeURIComponent(api.clientId)}:${encodeURIComponent(api.clientSecret)}`).toString('base64')}`,
    },
    body: new URLSearchParams({ token }).toString(),
  });
  expect(res.status).toBe(200);
  return JSON.parse(res.body);
}

describe('the seed scenario through tokens', () => {
  test('Eric of Demo-Customer gets reader on Portal through the grant', async () => {
    const { userinfo } = await signIn(seed.projects.portal, seed.users.eric);
    expect(userinfo[ROLES]).toEqual({ reader: { [seed.orgs.demoCustomer.id]: seed.orgs.demoCustomer.domain } });
    expect(userinfo.preferred_username).toBe(seed.users.eric.loginName);
    expect(userinfo[`urn:zitadel:iam:org:project:${seed.projects.portal.id}:roles`]).toEqual(userinfo[ROLES]);
  });

  test("Alice of Alpha gets Accountant on Time Tracking through Beta's grant, with Beta's org id", async () => {
    const { userinfo } = await signIn(seed.projects.timeTracking, seed.users.alice);
    expect(userinfo[ROLES]).toEqual({ Accountant: { [seed.orgs.beta.id]: seed.orgs.beta.domain } });
  });

  test('a role scope asks for roles and filters them; without any, no roles claim', async () => {
    const none = await signIn(seed.projects.timeTracking, seed.users.bob, 'openid');
    expect(none.userinfo[ROLES]).toBeUndefined();
    const dev = await signIn(seed.projects.timeTracking, seed.users.bob, 'openid urn:zitadel:iam:org:project:role:Developer');
    expect(dev.userinfo[ROLES]).toEqual({ Developer: { [seed.orgs.beta.id]: seed.orgs.beta.domain } });
    const other = await signIn(seed.projects.timeTracking, seed.users.bob, 'openid urn:zitadel:iam:org:project:role:Accountant');
    expect(other.userinfo[ROLES]).toBeUndefined();
  });

  test('urn:zitadel:iam:org:roles:id filters the giving orgs', async () => {
    const byBeta = await signIn(
      seed.projects.timeTracking,
      seed.users.bob,
      `openid urn:zitadel:iam:org:projects:roles urn:zitadel:iam:org:roles:id:${seed.orgs.beta.id}`,
    );
    expect(byBeta.userinfo[ROLES]).toBeDefined();
    const byAlpha = await signIn(
      seed.projects.timeTracking,
      seed.users.bob,
      `openid urn:zitadel:iam:org:projects:roles urn:zitadel:iam:org:roles:id:${seed.orgs.alpha.id}`,
    );
    expect(byAlpha.userinfo[ROLES]).toBeUndefined();
  });

  test('after the grant is removed, a new token and userinfo have no roles', async () => {
    const local = await testInstance(rt, 'Removal');
    const s = await seedScenario(rt, local);
    const localIssuer = `http://${local.domain}:${server.port}`;
    const rp = { issuer: localIssuer, clientId: s.projects.portal.app.clientId, redirectUri: s.projects.portal.app.redirectUri, auth: 'none' as const };
    const config = await discover(rp);
    const scope = 'openid urn:zitadel:iam:org:projects:roles';
    const before = await login(config, rp, { loginName: s.users.eric.loginName, password: SEED_PASSWORD, scope });
    expect((await client.fetchUserInfo(config, before.tokens.access_token, s.users.eric.id))[ROLES]).toBeDefined();
    // Removed by an admin of the org that gave it, through the Management API.
    const admin = await machineCaller(rt, local, s.orgs.demoCustomer.id, [{ level: 'org', roles: ['ORG_OWNER'] }]);
    const removed = await apiClient(server.port, local.domain, admin.token).delete(`/management/v1/user_grants/${s.userGrants.ericReader}`);
    expect(removed.status).toBe(204);
    // The token issued before the removal no longer shows the role either: claims are read when asked for.
    expect((await client.fetchUserInfo(config, before.tokens.access_token, s.users.eric.id))[ROLES]).toBeUndefined();
    const after = await login(config, rp, { loginName: s.users.eric.loginName, password: SEED_PASSWORD, scope });
    expect((await client.fetchUserInfo(config, after.tokens.access_token, s.users.eric.id))[ROLES]).toBeUndefined();
  });
});

describe('project settings', () => {
  test('projectRoleAssertion adds roles without a role scope', async () => {
    await updateProject(seed.ctx, seed.projects.portal.id, { projectRoleAssertion: true });
    try {
      const { userinfo } = await signIn(seed.projects.portal, seed.users.eric, 'openid');
      expect(userinfo[ROLES]).toEqual({ reader: { [seed.orgs.demoCustomer.id]: seed.orgs.demoCustomer.domain } });
    } finally {
      await updateProject(seed.ctx, seed.projects.portal.id, { projectRoleAssertion: false });
    }
  });

  test('projectRoleCheck refuses a user without a grant with an error page and no code', async () => {
    const local = await testInstance(rt, 'RoleCheck');
    const s = await seedScenario(rt, local);
    await updateProject(s.ctx, s.projects.timeTracking.id, { projectRoleCheck: true });
    const { id } = await createHumanUser(s.ctx, {
      orgId: s.orgs.acme.id,
      username: 'carol',
      email: `carol@${s.orgs.acme.domain}`,
      emailVerified: true,
      givenName: 'Carol',
      familyName: 'ACME',
      password: SEED_PASSWORD,
    });
    const rp = {
      issuer: `http://${local.domain}:${server.port}`,
      clientId: s.projects.timeTracking.app.clientId,
      redirectUri: s.projects.timeTracking.app.redirectUri,
      auth: 'none' as const,
    };
    const config = await discover(rp);
    const refused = await authorize(config, rp, { loginName: `carol@${s.orgs.acme.domain}`, password: SEED_PASSWORD });
    expect(refused.callback).toBeUndefined();
    expect(refused.page!.status).toBe(403);
    expect(refused.page!.body).toContain('login.project_role_check_failed');
    const bob = await authorize(config, rp, { loginName: s.users.bob.loginName, password: SEED_PASSWORD });
    expect(bob.callback!.searchParams.get('code')).toBeTruthy();
    // Given a grant, Carol gets in.
    await addUserGrant(s.ctx, { userId: id, projectId: s.projects.timeTracking.id, orgId: s.orgs.acme.id, roleKeys: ['Developer'] });
    const carol = await authorize(config, rp, { loginName: `carol@${s.orgs.acme.domain}`, password: SEED_PASSWORD });
    expect(carol.callback!.searchParams.get('code')).toBeTruthy();
  });

  test('a refused login with prompt=none answers access_denied to the client, never a code', async () => {
    const local = await testInstance(rt, 'SilentRefusal');
    const s = await seedScenario(rt, local);
    const { id } = await createHumanUser(s.ctx, {
      orgId: s.orgs.acme.id,
      username: 'dave',
      email: `dave@${s.orgs.acme.domain}`,
      emailVerified: true,
      givenName: 'Dave',
      familyName: 'ACME',
      password: SEED_PASSWORD,
    });
    const rp = {
      issuer: `http://${local.domain}:${server.port}`,
      clientId: s.projects.timeTracking.app.clientId,
      redirectUri: s.projects.timeTracking.app.redirectUri,
      auth: 'none' as const,
    };
    const config = await discover(rp);
    // Dave signs in while the project does not check roles, so he has a session.
    const first = await authorize(config, rp, { loginName: `dave@${s.orgs.acme.domain}`, password: SEED_PASSWORD });
    expect(first.callback!.searchParams.get('code')).toBeTruthy();
    await updateProject(s.ctx, s.projects.timeTracking.id, { projectRoleCheck: true });
    const silent = await authorize(config, rp, { browser: first.browser, params: { prompt: 'none' } });
    expect(silent.callback!.searchParams.get('error')).toBe('access_denied');
    expect(silent.callback!.searchParams.get('error_description')).toBe(refusalMessages['login.project_role_check_failed']);
    expect(silent.callback!.searchParams.get('code')).toBeNull();
    // With a grant, the same silent request succeeds.
    await addUserGrant(s.ctx, { userId: id, projectId: s.projects.timeTracking.id, orgId: s.orgs.acme.id, roleKeys: ['Developer'] });
    const granted = await authorize(config, rp, { browser: first.browser, params: { prompt: 'none' } });
    expect(granted.callback!.searchParams.get('code')).toBeTruthy();
  });

  test('hasProjectCheck refuses a user whose org neither owns nor holds a grant of the project', async () => {
    const local = await testInstance(rt, 'HasProject');
    const s = await seedScenario(rt, local);
    await updateProject(s.ctx, s.projects.portal.id, { hasProjectCheck: true });
    const rp = {
      issuer: `http://${local.domain}:${server.port}`,
      clientId: s.projects.portal.app.clientId,
      redirectUri: s.projects.portal.app.redirectUri,
      auth: 'none' as const,
    };
    const config = await discover(rp);
    const alice = await authorize(config, rp, { loginName: s.users.alice.loginName, password: SEED_PASSWORD });
    expect(alice.callback).toBeUndefined();
    expect(alice.page!.status).toBe(403);
    expect(alice.page!.body).toContain('login.has_project_check_failed');
    const eric = await authorize(config, rp, { loginName: s.users.eric.loginName, password: SEED_PASSWORD });
    expect(eric.callback!.searchParams.get('code')).toBeTruthy();
  });
});

describe('reserved scopes', () => {
  test("urn:zitadel:iam:org:id lets only that org's users finish, and echoes the org", async () => {
    const scope = `openid urn:zitadel:iam:org:id:${seed.orgs.alpha.id}`;
    const rp = rpFor(seed.projects.timeTracking);
    const config = await discover(rp);
    const bob = await authorize(config, rp, { loginName: seed.users.bob.loginName, password: SEED_PASSWORD, scope });
    // The org-scoped login does not even find Bob (or refuses him): no code either way.
    expect(bob.callback).toBeUndefined();
    expect(bob.page!.status).toBeGreaterThanOrEqual(400);
    const { userinfo } = await signIn(seed.projects.timeTracking, seed.users.alice, scope);
    expect(userinfo['urn:zitadel:iam:org:id']).toBe(seed.orgs.alpha.id);
  });

  test('urn:zitadel:iam:org:domain:primary restricts the same way', async () => {
    const rp = rpFor(seed.projects.timeTracking);
    const config = await discover(rp);
    const bob = await authorize(config, rp, {
      loginName: seed.users.bob.loginName,
      password: SEED_PASSWORD,
      scope: `openid urn:zitadel:iam:org:domain:primary:${seed.orgs.alpha.domain}`,
    });
    expect(bob.callback).toBeUndefined();
    expect(bob.page!.status).toBeGreaterThanOrEqual(400);
  });

  test("metadata values are base64url, and resourceowner claims name the user's org", async () => {
    await setUserMetadata(seed.ctx, seed.users.alice.id, 'team', 'blue/green?');
    const { userinfo } = await signIn(seed.projects.timeTracking, seed.users.alice, 'openid urn:zitadel:iam:user:metadata urn:zitadel:iam:user:resourceowner');
    expect(userinfo['urn:zitadel:iam:user:metadata']).toEqual({ team: Buffer.from('blue/green?').toString('base64url') });
    expect(userinfo['urn:zitadel:iam:user:resourceowner:id']).toBe(seed.orgs.alpha.id);
    expect(userinfo['urn:zitadel:iam:user:resourceowner:name']).toBe('Alpha');
    expect(userinfo['urn:zitadel:iam:user:resourceowner:primary_domain']).toBe(seed.orgs.alpha.domain);
  });
});

describe('application flags', () => {
  test('idTokenRoleAssertion and idTokenUserinfoAssertion put roles and profile into the ID token', async () => {
    const plain = await signIn(seed.projects.timeTracking, seed.users.alice);
    expect(plain.tokens.claims()![ROLES]).toBeUndefined();
    expect(plain.tokens.claims()!.given_name).toBeUndefined();
    await updateApplication(seed.ctx, seed.projects.timeTracking.app.id, { idTokenRoleAssertion: true, idTokenUserinfoAssertion: true });
    try {
      const asserted = await signIn(seed.projects.timeTracking, seed.users.alice);
      expect(asserted.tokens.claims()![ROLES]).toEqual({ Accountant: { [seed.orgs.beta.id]: seed.orgs.beta.domain } });
      expect(asserted.tokens.claims()!.given_name).toBe('Alice');
    } finally {
      await updateApplication(seed.ctx, seed.projects.timeTracking.app.id, { idTokenRoleAssertion: false, idTokenUserinfoAssertion: false });
    }
  });
});

describe('introspection and revocation', () => {
  test("a token is active for an API app only when its project is in the token's audience", async () => {
    const ttApi = await apiApp(seed.projects.timeTracking);
    const portalApi = await apiApp(seed.projects.portal);
    const { tokens } = await signIn(seed.projects.timeTracking, seed.users.alice);
    const ok = await introspect(ttApi, tokens.access_token);
    expect(ok).toMatchObject({ active: true, sub: seed.users.alice.id, client_id: seed.projects.timeTracking.app.clientId });
    expect(await introspect(portalApi, tokens.access_token)).toEqual({ active: false });
    // Asking for the Portal project in the audience makes it active there too.
    const wider = await signIn(seed.projects.timeTracking, seed.users.alice, `openid urn:zitadel:iam:org:project:id:${seed.projects.portal.id}:aud`);
    expect((await introspect(portalApi, wider.tokens.access_token)).active).toBe(true);
    expect(await introspect({ ...ttApi, clientSecret: 'wrong' }, tokens.access_token).catch(() => 'refused')).toBe('refused');
  });

  test('a revoked access token is dead at userinfo and introspection', async () => {
    const ttApi = await apiApp(seed.projects.timeTracking);
    const { config, tokens } = await signIn(seed.projects.timeTracking, seed.users.bob);
    await client.tokenRevocation(config, tokens.access_token);
    expect((await localRequest(new URL(`${issuer}/me`), { headers: { authorization: `Bearer ${tokens.access_token}` } })).status).toBe(401);
    expect(await introspect(ttApi, tokens.access_token)).toEqual({ active: false });
  });
});

describe('machine users', () => {
  test('client_credentials gives a token whose sub is the machine user, with its roles', async () => {
    const { id } = await createMachineUser(seed.ctx, { orgId: seed.orgs.beta.id, username: 'reporter', name: 'Reporter' });
    const { clientId, clientSecret } = await generateMachineSecret(seed.ctx, id);
    await addUserGrant(seed.ctx, { userId: id, projectId: seed.projects.timeTracking.id, orgId: seed.orgs.beta.id, roleKeys: ['Developer'] });
    const config = await discover({ issuer, clientId, clientSecret });
    const tokens = await client.clientCredentialsGrant(config, { scope: `urn:zitadel:iam:org:project:id:${seed.projects.timeTracking.id}:aud` });
    const ttApi = await apiApp(seed.projects.timeTracking);
    const info = await introspect(ttApi, tokens.access_token);
    expect(info).toMatchObject({ active: true, sub: id, [ROLES]: { Developer: { [seed.orgs.beta.id]: seed.orgs.beta.domain } } });
    // A wrong secret is invalid_client.
    const bad = await localRequest(new URL(`${issuer}/token`), {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from(`${encodeURIComponent(clientId)}:wrong`).toString('base64')}`,
      },
      body: 'grant_type=client_credentials',
    });
    expect(bad.status).toBe(401);
    expect(JSON.parse(bad.body).error).toBe('invalid_client');
  });

  test('the JWT bearer grant (RFC 7523) with a machine key gives a token for the machine user', async () => {
    const { id } = await createMachineUser(seed.ctx, { orgId: seed.orgs.beta.id, username: 'jwt-profile', name: 'JWT profile' });
    const key = await addMachineKey(seed.ctx, id);
    await addUserGrant(seed.ctx, { userId: id, projectId: seed.projects.timeTracking.id, orgId: seed.orgs.beta.id, roleKeys: ['Accountant'] });
    const privateKey = await importPKCS8(key.privateKeyPem, 'RS256');
    const assertion = () =>
      new SignJWT({})
        .setProtectedHeader({ alg: 'RS256', kid: key.keyId })
        .setIssuer(id)
        .setSubject(id)
        .setAudience(issuer)
        .setIssuedAt()
        .setExpirationTime('5m')
        .setJti(`${Math.random()}`)
        .sign(privateKey);
    const grant = async (jwt: string, scope = `urn:zitadel:iam:org:project:id:${seed.projects.timeTracking.id}:aud`) => {
      const res = await localRequest(new URL(`${issuer}/token`), {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion: jwt, scope }).toString(),
      });
      return { status: res.status, body: JSON.parse(res.body) };
    };
    const jwt = await assertion();
    const ok = await grant(jwt);
    expect(ok.status).toBe(200);
    const info = await introspect(await apiApp(seed.projects.timeTracking), ok.body.access_token);
    expect(info).toMatchObject({ active: true, sub: id, [ROLES]: { Accountant: { [seed.orgs.beta.id]: seed.orgs.beta.domain } } });
    // Replayed, or signed by a key that is not the machine's: refused.
    expect((await grant(jwt)).body.error).toBe('invalid_grant');
    const { privateKey: stranger } = await generateKeyPair('RS256');
    const forged = await new SignJWT({})
      .setProtectedHeader({ alg: 'RS256', kid: key.keyId })
      .setIssuer(id)
      .setSubject(id)
      .setAudience(issuer)
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(stranger);
    expect((await grant(forged)).body.error).toBe('invalid_grant');
    // Other grants still work through the same endpoint (the body is replayed to oidc-provider).
    const { clientId, clientSecret } = await generateMachineSecret(seed.ctx, id);
    const config = await discover({ issuer, clientId, clientSecret });
    expect((await client.clientCredentialsGrant(config)).access_token).toBeTruthy();
  });

  test('private_key_jwt authenticates an API app at introspection', async () => {
    const { publicKey, privateKey } = await generateKeyPair('ES256', { extractable: true });
    const jwk = { ...(await exportJWK(publicKey)), kid: 'api-key-1', alg: 'ES256', use: 'sig' };
    const api = await createApplication(seed.ctx, seed.projects.timeTracking.id, {
      name: 'API pkjwt',
      appType: 'api',
      authMethod: 'private_key_jwt',
      jwks: { keys: [jwk] },
    });
    const config = await client.discovery(new URL(issuer), api.clientId, undefined, client.PrivateKeyJwt({ key: privateKey, kid: 'api-key-1' }), {
      [client.customFetch]: localFetch,
      execute: [client.allowInsecureRequests],
    });
    const { tokens } = await signIn(seed.projects.timeTracking, seed.users.alice);
    const info = await client.tokenIntrospection(config, tokens.access_token);
    expect(info).toMatchObject({ active: true, sub: seed.users.alice.id });
  });
});
