import { loginWorld, type LoginWorld } from './login-support.js';
import { addHuman, client, login } from '../support/rp.js';
import { listAppConsents } from '../../src/domain/consent/queries.js';
import { revokeAppConsent } from '../../src/domain/consent/service.js';
import { listEvents } from '../../src/domain/audit/repository.js';
import type { ServiceContext } from '../../src/domain/deps.js';

/** The applications a user consented to, and revoking one: its tokens stop working. */
let w: LoginWorld;
beforeAll(async () => {
  w = await loginWorld('Consent');
});
afterAll(async () => {
  await w?.close();
});

const as = (userId: string, orgId: string): ServiceContext => ({ deps: w.rt.deps, scope: w.inst.scope, actor: { type: 'user', userId, orgId } });

test('a user sees the application they signed in to, revokes it, and its refresh token stops working', async () => {
  const u = await addHuman(w.rt, w.inst.scope, w.inst.orgId);
  const { tokens } = await login(w.config, w.rp, { loginName: u.loginName, password: u.password, scope: 'openid profile offline_access' });
  const self = as(u.userId, w.inst.orgId);
  const [consent] = await listAppConsents(self, u.userId);
  expect(consent).toMatchObject({ clientId: w.rp.clientId, appName: expect.any(String), projectName: expect.any(String) });
  expect(consent.scopes).toEqual(expect.arrayContaining(['openid', 'profile', 'offline_access']));

  const other = await addHuman(w.rt, w.inst.scope, w.inst.orgId);
  await expect(listAppConsents(as(other.userId, w.inst.orgId), u.userId)).rejects.toMatchObject({ code: 'permission_denied' });
  await expect(revokeAppConsent(as(other.userId, w.inst.orgId), u.userId, w.rp.clientId)).rejects.toMatchObject({ code: 'permission_denied' });
  const rotated = await client.refreshTokenGrant(w.config, tokens.refresh_token!); // works until revoked
  expect(rotated.refresh_token).toBeTruthy();

  await revokeAppConsent(self, u.userId, w.rp.clientId);
  expect(await listAppConsents(self, u.userId)).toEqual([]);
  await expect(client.refreshTokenGrant(w.config, rotated.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
  await expect(revokeAppConsent(self, u.userId, w.rp.clientId)).rejects.toMatchObject({ code: 'not_found' });
  const events = await listEvents(w.inst.scope, { resourceId: u.userId, limit: 100 });
  expect(events.find((e) => e.type === 'user.consent.revoked')).toMatchObject({ actor_id: u.userId, payload: { clientId: w.rp.clientId } });
});
