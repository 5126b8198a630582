import { testRuntime, testInstance, type TestInstance } from '../support/runtime.js';
import type { Runtime } from '../../src/runtime/index.js';
import { createOrg } from '../../src/domain/org/service.js';
import { createHumanUser, createMachineUser } from '../../src/domain/user/service.js';
import { createProject } from '../../src/domain/project/service.js';
import { insertMembership } from '../../src/domain/membership/repository.js';
import { newId } from '../../src/shared/ids.js';
import { client, machineCaller, machineToken, serve, systemCtx, type Caller, type Served } from './api-client.js';

/**
 * Credentials are the keys to a user's permissions: whoever sets or creates them (a password, a
 * client secret, a key, a personal access token, an external login, an address for resets)
 * must already hold every permission the user's memberships grant. Otherwise a user manager
 * becomes whoever it manages.
 */
let rt: Runtime;
let srv: Served;
let inst: TestInstance;
let org: string;
let userManager: Caller;
let orgOwner: Caller;
let iamOwner: Caller;

beforeAll(async () => {
  rt = await testRuntime();
  srv = await serve(rt);
  inst = await testInstance(rt, 'Escalation');
  org = (await createOrg(systemCtx(inst, rt), { name: 'Managed' })).id;
  userManager = await machineCaller(rt, inst, org, [{ level: 'org', roles: ['ORG_USER_MANAGER'] }]);
  orgOwner = await machineCaller(rt, inst, org, [{ level: 'org', roles: ['ORG_OWNER'] }]);
  iamOwner = await machineCaller(rt, inst, inst.orgId, [{ level: 'instance', roles: ['IAM_OWNER'] }]);
});
afterAll(async () => {
  await srv.close();
  await rt.close();
});

const as = (caller: Caller) => client(srv.port, inst.domain, caller.token, { 'x-org-id': org });

/** A machine user of the managed org that holds IAM_OWNER: the prize. */
async function privilegedBot(): Promise<string> {
  const { id } = await createMachineUser(systemCtx(inst, rt), { orgId: org, username: `admin-bot-${newId()}`, name: 'Instance automation' });
  await insertMembership(inst.scope, { user_id: id, level: 'instance', org_id: null, project_id: null, project_grant_id: null, roles: ['IAM_OWNER'] });
  return id;
}

async function human(roles?: string[]): Promise<string> {
  const { id } = await createHumanUser(systemCtx(inst, rt), {
    orgId: org,
    username: `h${newId()}`,
    email: `h${newId()}@example.com`,
    password: 'Initial-Passw0rd!',
  });
  if (roles) await insertMembership(inst.scope, { user_id: id, level: 'org', org_id: org, project_id: null, project_grant_id: null, roles });
  return id;
}

const refused = { status: 403, body: { code: 'permission_denied' } };

describe('credentials of a machine user that holds IAM_OWNER', () => {
  test.each([
    ['ORG_USER_MANAGER', () => userManager],
    ['ORG_OWNER', () => orgOwner],
  ])('%s cannot create its personal access token, and so cannot act as instance admin', async (_role, caller) => {
    const bot = await privilegedBot();
    const pat = await as(caller()).post(`/management/v1/users/${bot}/pats`, {});
    expect(pat).toMatchObject(refused);
    expect(pat.body.token).toBeUndefined();
    expect((await as(iamOwner).get(`/management/v1/users/${bot}/pats`)).body).toEqual([]);
  });

  test.each([
    ['ORG_USER_MANAGER', () => userManager],
    ['ORG_OWNER', () => orgOwner],
  ])('%s cannot create its client secret or key', async (_role, caller) => {
    const bot = await privilegedBot();
    const secret = await as(caller()).post(`/management/v1/users/${bot}/secret`);
    expect(secret).toMatchObject(refused);
    expect(secret.body.clientSecret).toBeUndefined();
    const key = await as(caller()).post(`/management/v1/users/${bot}/keys`, {});
    expect(key).toMatchObject(refused);
    expect(key.body.privateKeyPem).toBeUndefined();
    expect((await as(iamOwner).get(`/management/v1/users/${bot}/keys`)).body).toEqual([]);
  });

  test('an IAM_OWNER may, and the credential it made acts as instance admin', async () => {
    const bot = await privilegedBot();
    const { clientId, clientSecret } = (await as(iamOwner).post(`/management/v1/users/${bot}/secret`)).body;
    const token = await machineToken(srv.port, inst.domain, clientId, clientSecret);
    expect(token.status).toBe(200);
    expect((await client(srv.port, inst.domain, token.body.access_token).get('/admin/v1/events')).status).toBe(200);
    const pat = await as(iamOwner).post(`/management/v1/users/${bot}/pats`, {});
    expect(pat.status).toBe(201);
    expect((await client(srv.port, inst.domain, pat.body.token).get('/admin/v1/events')).status).toBe(200);
  });
});

describe('credentials of the org owner', () => {
  test("a user manager cannot set the ORG_OWNER's password, and nothing changes", async () => {
    const owner = await human(['ORG_OWNER']);
    const res = await as(userManager).put(`/management/v1/users/${owner}/password`, { password: 'Taken-0ver-Passw0rd!' });
    expect(res).toMatchObject(refused);
    const events = (await as(iamOwner).get(`/management/v1/users/${owner}/history`)).body.result.map((e: { type: string }) => e.type);
    expect(events).not.toContain('user.password.changed');
  });

  test("a user manager cannot point the ORG_OWNER's email (where resets go) elsewhere, nor link an external login", async () => {
    const owner = await human(['ORG_OWNER']);
    const email = await as(userManager).patch(`/management/v1/users/${owner}`, { email: 'attacker@example.com' });
    expect(email).toMatchObject(refused);
    expect((await as(iamOwner).get(`/management/v1/users/${owner}`)).body.email).not.toBe('attacker@example.com');
    const idp = (
      await client(srv.port, inst.domain, iamOwner.token).post('/admin/v1/idps', {
        name: 'Upstream',
        type: 'oidc',
        issuer: 'https://upstream.example.com',
        clientId: 'c',
        clientSecret: 's',
      })
    ).body.id as string;
    const link = await as(userManager).post(`/management/v1/users/${owner}/idp_links`, { idpId: idp, externalUserId: 'attacker' });
    expect(link).toMatchObject(refused);
  });

  test('the org owner itself, or a higher manager, may', async () => {
    const ownerUser = await human(['ORG_OWNER']);
    expect((await as(orgOwner).put(`/management/v1/users/${ownerUser}/password`, { password: 'Owner-Set-Passw0rd!' })).status).toBe(204);
    expect((await as(iamOwner).put(`/management/v1/users/${ownerUser}/password`, { password: 'Iam-Set-Passw0rd!' })).status).toBe(204);
  });
});

describe('credentials of users without memberships, or with less than the caller', () => {
  test("a user manager still sets a plain user's password, email, and a plain machine user's credentials", async () => {
    const plain = await human();
    expect((await as(userManager).put(`/management/v1/users/${plain}/password`, { password: 'Plain-Set-Passw0rd!' })).status).toBe(204);
    expect((await as(userManager).patch(`/management/v1/users/${plain}`, { email: 'new@example.com' })).status).toBe(200);
    const { id: bot } = await createMachineUser(systemCtx(inst, rt), { orgId: org, username: `plain-bot-${newId()}`, name: 'Plain' });
    expect((await as(userManager).post(`/management/v1/users/${bot}/pats`, {})).status).toBe(201);
    expect((await as(userManager).post(`/management/v1/users/${bot}/secret`)).status).toBe(201);
    expect((await as(userManager).post(`/management/v1/users/${bot}/keys`, {})).status).toBe(201);
  });

  test('an org owner sets the password of a user manager, whose permissions it holds', async () => {
    const manager = await human(['ORG_USER_MANAGER']);
    expect((await as(orgOwner).put(`/management/v1/users/${manager}/password`, { password: 'Owner-Set-Passw0rd!' })).status).toBe(204);
  });

  test('an org owner cannot set the password of its user who owns a project of another org', async () => {
    const elsewhere = (await createOrg(systemCtx(inst, rt), { name: 'Elsewhere' })).id;
    const project = (await createProject(systemCtx(inst, rt), { orgId: elsewhere, name: 'Theirs' })).id;
    const member = await human();
    await insertMembership(inst.scope, {
      user_id: member,
      level: 'project',
      org_id: elsewhere,
      project_id: project,
      project_grant_id: null,
      roles: ['PROJECT_OWNER'],
    });
    expect(await as(orgOwner).put(`/management/v1/users/${member}/password`, { password: 'Owner-Set-Passw0rd!' })).toMatchObject(refused);
  });
});
