import type { Runtime } from '../../src/runtime/index.js';
import type { ServiceContext } from '../../src/domain/deps.js';
import { systemPrincipal } from '../../src/domain/principal.js';
import { addOrgDomain, createOrg, removeOrgDomain, renameOrg } from '../../src/domain/org/service.js';
import { setInstancePolicy, setOrgPolicy } from '../../src/domain/policy/service.js';
import { builtInDefault } from '../../src/domain/policy/schemas.js';
import { setLabelAsset } from '../../src/domain/policy/label-assets.js';
import { updateProject } from '../../src/domain/project/service.js';
import { createMachineUser, lockUser, unlockUser, deleteUser } from '../../src/domain/user/service.js';
import { generateMachineSecret } from '../../src/domain/user/credentials.js';
import { removeUserGrant } from '../../src/domain/user-grant/service.js';
import { testInstance, testRuntime, type TestInstance } from '../support/runtime.js';
import { eventually } from '../support/eventually.js';
import { addApp, addHuman, addProject, authorize, client, discover, grantRoles, localRequest, login, serveApp } from '../support/rp.js';

/**
 * The provider caches clients (applications and machine users, misses included) and the org and
 * project settings behind claims. These tests run two runtimes, as two processes would: writes go
 * through process A's services, requests go to process B, which must see every change at once
 * (through the Redis change bus). Userinfo's users and role grants have a cache of their own,
 * invalidated by PostgreSQL (oidc-claims-cache.test.ts).
 */

const ROLES = 'urn:zitadel:iam:org:project:roles';
const OWNER = 'urn:zitadel:iam:user:resourceowner';

let rtA: Runtime;
let rtB: Runtime;
let serverB: { port: number; close: () => Promise<void> };
let inst: TestInstance;
let ctx: ServiceContext;
let issuerB: string;

beforeAll(async () => {
  rtA = await testRuntime();
  rtB = await testRuntime();
  serverB = await serveApp(rtB);
  inst = await testInstance(rtA, 'Caches');
  ctx = { deps: rtA.deps, scope: inst.scope, actor: systemPrincipal };
  issuerB = `http://${inst.domain}:${serverB.port}`;
});
afterAll(async () => {
  await serverB.close();
  await rtB.close();
  await rtA.close();
});

function clientCredentials(clientId: string, secret: string) {
  return localRequest(new URL(`${issuerB}/token`), {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `Basic ${Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(secret)}`).toString('base64')}`,
    },
    body: 'grant_type=client_credentials',
  });
}

const status = (r: { status: number }) => r.status;

describe('machine clients are cached and follow every change', () => {
  test('an unknown client id that becomes a machine user works at once (misses are not kept past a notice)', async () => {
    const username = `late-${Date.now()}`;
    expect((await clientCredentials(username, 'x'.repeat(20))).status).toBe(401);
    expect((await clientCredentials(username, 'x'.repeat(20))).status).toBe(401);
    const { id } = await createMachineUser(ctx, { orgId: inst.orgId, username, name: 'Late' });
    const { clientSecret } = await generateMachineSecret(ctx, id);
    expect(
      status(
        await eventually(
          () => clientCredentials(username, clientSecret),
          (r) => r.status === 200,
        ),
      ),
    ).toBe(200);
  });

  test('a new secret replaces the old one, and lock, unlock and delete apply in the other process', async () => {
    const { id } = await createMachineUser(ctx, { orgId: inst.orgId, username: `rot-${Date.now()}`, name: 'Rotating' });
    const first = await generateMachineSecret(ctx, id);
    expect(
      (
        await eventually(
          () => clientCredentials(first.clientId, first.clientSecret),
          (r) => r.status === 200,
        )
      ).status,
    ).toBe(200);
    // Warm: several requests, so the cached client and the verified secret are both in play.
    for (let i = 0; i < 3; i++) expect((await clientCredentials(first.clientId, first.clientSecret)).status).toBe(200);

    const second = await generateMachineSecret(ctx, id);
    expect(
      (
        await eventually(
          () => clientCredentials(first.clientId, first.clientSecret),
          (r) => r.status === 401,
        )
      ).status,
    ).toBe(401);
    expect((await clientCredentials(second.clientId, second.clientSecret)).status).toBe(200);

    await lockUser(ctx, id);
    expect(
      (
        await eventually(
          () => clientCredentials(second.clientId, second.clientSecret),
          (r) => r.status === 401,
        )
      ).status,
    ).toBe(401);
    await unlockUser(ctx, id);
    expect(
      (
        await eventually(
          () => clientCredentials(second.clientId, second.clientSecret),
          (r) => r.status === 200,
        )
      ).status,
    ).toBe(200);

    await deleteUser(ctx, id);
    expect(
      (
        await eventually(
          () => clientCredentials(second.clientId, second.clientSecret),
          (r) => r.status === 401,
        )
      ).status,
    ).toBe(401);
  });
});

describe('claims settings are cached and follow every change', () => {
  test('org rename and project settings show in userinfo at once; a removed grant disappears at once', async () => {
    const project = await addProject(inst.scope, inst.orgId, { roles: ['viewer'] });
    const app = await addApp(rtA, inst.scope, project.projectId, { auth: 'none' });
    const user = await addHuman(rtA, inst.scope, inst.orgId);
    const grantId = await grantRoles(inst.scope, user.userId, project.projectId, inst.orgId, ['viewer']);
    const rp = { issuer: issuerB, clientId: app.clientId, redirectUri: app.redirectUri, auth: 'none' as const };
    const config = await discover(rp);
    const { tokens } = await login(config, rp, { loginName: user.loginName, password: user.password, scope: `openid profile ${OWNER}` });
    const userinfo = () => client.fetchUserInfo(config, tokens.access_token, user.userId) as Promise<Record<string, unknown>>;

    // Role assertion is off and no role scope was asked for: no roles yet. Twice, so the settings are cached.
    expect((await userinfo())[ROLES]).toBeUndefined();
    const before = await userinfo();
    expect(before[`${OWNER}:id`]).toBe(inst.orgId);
    expect(before[ROLES]).toBeUndefined();

    const newName = `Renamed ${Date.now()}`;
    await renameOrg(ctx, inst.orgId, newName);
    expect((await eventually(userinfo, (u) => u[`${OWNER}:name`] === newName))[`${OWNER}:name`]).toBe(newName);

    await updateProject(ctx, project.projectId, { projectRoleAssertion: true });
    const withRoles = await eventually(userinfo, (u) => u[ROLES] !== undefined);
    expect(withRoles[ROLES]).toEqual({ viewer: { [inst.orgId]: expect.any(String) } });

    // Role grants reach B's claims cache through PostgreSQL's own notice (oidc-claims-cache.test.ts).
    await removeUserGrant(ctx, grantId);
    expect((await eventually(userinfo, (u) => u[ROLES] === undefined))[ROLES]).toBeUndefined();
  });
});

describe("the login pages' settings are cached and follow every change", () => {
  test('a label policy, an uploaded logo and a removed org domain apply in the other process', async () => {
    const project = await addProject(inst.scope, inst.orgId);
    const app = await addApp(rtA, inst.scope, project.projectId, { auth: 'none' });
    const rp = { issuer: issuerB, clientId: app.clientId, redirectUri: app.redirectUri, auth: 'none' as const };
    const config = await discover(rp);
    const page = async () => (await authorize(config, rp, {})).page!;
    const theme = (body: string) => /href="([^"]*theme\.css[^"]*)"/.exec(body)?.[1];
    // Twice, so B holds the settings.
    const first = (await page()).body;
    expect((await page()).body).not.toContain('/logo_light');
    expect(theme(first)).toBeDefined();

    await setInstancePolicy(ctx, 'label', { ...builtInDefault('label'), primaryColor: '#123456' });
    expect(theme((await eventually(page, (p) => theme(p.body) !== theme(first))).body)).not.toBe(theme(first));

    await setLabelAsset(ctx, null, 'logo_light', 'image/png', Buffer.from('not really a png'));
    expect((await eventually(page, (p) => p.body.includes('/logo_light'))).body).toContain('/ui/login/branding/instance/logo_light');

    // An org found by its verified domain, then the domain removed: its name no longer discovers it.
    const org = await createOrg(ctx, { name: `Discovered ${Date.now()}` });
    const domain = `d${Date.now()}.example`;
    await addOrgDomain(ctx, org.id, domain, { verified: true });
    await setOrgPolicy(ctx, org.id, 'login', { ...builtInDefault('login'), allowDomainDiscovery: true, allowRegister: false });
    await setOrgPolicy(ctx, org.id, 'label', { ...builtInDefault('label'), primaryColor: '#654321' });
    // An unknown name at the org's domain: the page after it wears the discovered org's own theme.
    const typed = async () => (await authorize(config, rp, { loginName: `someone@${domain}` })).page!;
    expect(theme((await eventually(typed, (p) => Boolean(theme(p.body)?.includes(org.id)))).body)).toContain(`/${org.id}/theme.css`);
    expect(theme((await typed()).body)).toContain(`/${org.id}/theme.css`);
    await removeOrgDomain(ctx, org.id, domain);
    expect(theme((await eventually(typed, (p) => !theme(p.body)?.includes(org.id))).body)).not.toContain(org.id);
  });
});

describe('introspection without a token_type_hint', () => {
  test('finds access tokens and refresh tokens alike (the hint Tessera adds changes only the lookup order)', async () => {
    const project = await addProject(inst.scope, inst.orgId);
    const app = await addApp(rtA, inst.scope, project.projectId);
    const user = await addHuman(rtA, inst.scope, inst.orgId);
    const rp = { issuer: issuerB, clientId: app.clientId, clientSecret: app.clientSecret, redirectUri: app.redirectUri };
    const config = await discover(rp);
    const { tokens } = await login(config, rp, { loginName: user.loginName, password: user.password, scope: 'openid offline_access' });
    expect(tokens.refresh_token).toBeTruthy();
    const introspect = async (token: string) =>
      JSON.parse(
        (
          await localRequest(new URL(`${issuerB}/token/introspection`), {
            method: 'POST',
            headers: {
              'content-type': 'application/x-www-form-urlencoded',
              authorization: `Basic ${Buffer.from(`${encodeURIComponent(app.clientId)}:${encodeURIComponent(app.clientSecret!)}`).toString('base64')}`,
            },
            body: new URLSearchParams({ token }).toString(),
          })
        ).body,
      );
    expect(await introspect(tokens.refresh_token!)).toMatchObject({ active: true, sub: user.userId, client_id: app.clientId });
    expect(await introspect(tokens.access_token)).toMatchObject({ active: true, sub: user.userId });
    expect(await introspect('no-such-token')).toEqual({ active: false });

    // Warm, an access token's introspection reads nothing from PostgreSQL: the token and its
    // twin lookup as client_credentials are answered by Redis (one knows the id is the other's),
    // the user's and org's states and the username come from the claims cache. The runtime's
    // background work queries now and then, so the fewest of three tries is the request's own.
    const queriesOf = async () => {
      let n = 0;
      const count = () => n++;
      rtB.db.knex.on('query', count);
      try {
        expect(await introspect(tokens.access_token)).toMatchObject({ active: true, username: expect.any(String) });
        return n;
      } finally {
        rtB.db.knex.off('query', count);
      }
    };
    const tries = [await queriesOf(), await queriesOf(), await queriesOf()];
    expect(Math.min(...tries)).toBe(0);
  });
});
