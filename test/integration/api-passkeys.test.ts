import { testRuntime, testInstance, type TestInstance } from '../support/runtime.js';
import type { Runtime } from '../../src/runtime/index.js';
import { createOrg } from '../../src/domain/org/service.js';
import { createHumanUser } from '../../src/domain/user/service.js';
import { finishPasskeyRegistration, startPasskeyAuthentication, startPasskeyRegistration, verifyPasskeyAssertion } from '../../src/domain/passkey/service.js';
import { SoftAuthenticator } from '../support/soft-authenticator.js';
import { client, machineCaller, serve, systemCtx, type Caller, type Served } from './api-client.js';

/** Managers see a user's passkeys and remove one over the Management API; the trail records who did. */

let rt: Runtime;
let srv: Served;
let inst: TestInstance;
let owner: Caller;
let viewer: Caller;
beforeAll(async () => {
  rt = await testRuntime();
  srv = await serve(rt);
  inst = await testInstance(rt, 'Passkey API');
  owner = await machineCaller(rt, inst, inst.orgId, [{ level: 'org', roles: ['ORG_USER_MANAGER'] }]);
  viewer = await machineCaller(rt, inst, inst.orgId, [{ level: 'org', roles: ['ORG_OWNER_VIEWER'] }]);
});
afterAll(async () => {
  await srv.close();
  await rt.close();
});

async function userWithPasskey(orgId = inst.orgId) {
  const { id } = await createHumanUser(systemCtx(inst, rt), { orgId, username: `pk-${Math.random().toString(36).slice(2)}`, email: 'pk@example.test' });
  const self = { deps: rt.deps, scope: inst.scope, actor: { type: 'user' as const, userId: id, orgId, authTime: Math.floor(Date.now() / 1000) } };
  const rp = { rpId: inst.domain, origin: `https://${inst.domain}`, name: 'Test' };
  const key = new SoftAuthenticator();
  const start = await startPasskeyRegistration(self, id, { rp, binding: 's' });
  const passkey = await finishPasskeyRegistration(self, id, {
    challengeId: start.challengeId,
    binding: 's',
    response: key.create(start.options, rp.origin),
    name: 'YubiKey',
  });
  const signIn = async () => {
    const a = await startPasskeyAuthentication({ scope: inst.scope, deps: rt.deps }, { rp, binding: 'l' });
    return verifyPasskeyAssertion({ scope: inst.scope, deps: rt.deps }, { challengeId: a.challengeId, binding: 'l', response: key.get(a.options, rp.origin) });
  };
  return { id, passkeyId: passkey.id, signIn };
}

test("a manager lists a user's passkeys without key material, and removes one: it stops signing in", async () => {
  const u = await userWithPasskey();
  const api = client(srv.port, inst.domain, owner.token);
  const list = await api.get(`/management/v1/users/${u.id}/passkeys`);
  expect(list.status).toBe(200);
  expect(list.body).toEqual([
    {
      id: u.passkeyId,
      name: 'YubiKey',
      rpId: inst.domain,
      backupEligible: false,
      backedUp: false,
      transports: ['internal'],
      aaguid: '00000000-0000-0000-0000-000000000000',
      createdAt: expect.any(String),
      lastUsedAt: null,
    },
  ]);
  expect(list.text).not.toMatch(/public|credential/i);

  expect((await u.signIn()).ok).toBe(true);
  expect((await api.get(`/management/v1/users/${u.id}/passkeys`)).body[0].lastUsedAt).not.toBeNull();

  expect((await api.delete(`/management/v1/users/${u.id}/passkeys/${u.passkeyId}`)).status).toBe(204);
  expect((await api.get(`/management/v1/users/${u.id}/passkeys`)).body).toEqual([]);
  expect(await u.signIn()).toEqual({ ok: false, reason: 'unknown_credential' });
  expect((await api.delete(`/management/v1/users/${u.id}/passkeys/${u.passkeyId}`)).status).toBe(404);

  const history = await api.get(`/management/v1/users/${u.id}/history?type=user.passkey.removed`);
  expect(history.body.result).toEqual([expect.objectContaining({ actorId: owner.userId, payload: { passkeyId: u.passkeyId, name: 'YubiKey' } })]);
});

test("a viewer lists but cannot remove; another org's user answers 404 like an unknown one", async () => {
  const u = await userWithPasskey();
  const asViewer = client(srv.port, inst.domain, viewer.token);
  expect((await asViewer.get(`/management/v1/users/${u.id}/passkeys`)).body).toHaveLength(1);
  const refused = await asViewer.delete(`/management/v1/users/${u.id}/passkeys/${u.passkeyId}`);
  expect(refused.status).toBe(403);
  expect((await asViewer.get(`/management/v1/users/${u.id}/passkeys`)).body).toHaveLength(1);

  const other = (await createOrg(systemCtx(inst, rt), { name: `Other ${Date.now()}` })).id;
  const stranger = await userWithPasskey(other);
  const api = client(srv.port, inst.domain, owner.token);
  const unknown = await api.get('/management/v1/users/123456789/passkeys');
  const foreign = await api.get(`/management/v1/users/${stranger.id}/passkeys`);
  expect(foreign.status).toBe(404);
  expect(foreign.body.code).toBe(unknown.body.code);
  expect((await api.delete(`/management/v1/users/${stranger.id}/passkeys/${stranger.passkeyId}`)).status).toBe(404);
  expect((await stranger.signIn()).ok).toBe(true);
});
