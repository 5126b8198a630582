import * as oidc from 'openid-client';
import { createHumanUser } from '../../src/domain/user/service.js';
import { newId } from '../../src/shared/ids.js';
import { authorize } from '../support/rp.js';
import { readOnNotice } from '../support/notices.js';
import { client, machineCaller, type Caller } from './api-client.js';
import { loginWorld, type LoginWorld } from './login-support.js';

/** A manager sees a user's sign-in sessions and ends one: the user's tokens stop working and the next login asks again. */
let w: LoginWorld;
let manager: Caller;
let viewer: Caller;
beforeAll(async () => {
  w = await loginWorld('Sessions');
  manager = await machineCaller(w.rt, w.inst, w.inst.orgId, [{ level: 'org', roles: ['ORG_USER_MANAGER'] }]);
  viewer = await machineCaller(w.rt, w.inst, w.inst.orgId, [{ level: 'org', roles: ['ORG_OWNER_VIEWER'] }]);
});
afterAll(() => w.close());

const as = (c: Caller) => client(w.server.port, w.inst.domain, c.token, { 'x-org-id': w.inst.orgId });

test("a user manager lists a user's sessions and ends one; its tokens stop working and it is audited", async () => {
  const username = `s${newId()}`;
  const { id } = await createHumanUser(w.sys(), {
    orgId: w.inst.orgId,
    username,
    email: `${username}@example.com`,
    emailVerified: true,
    password: 'Session-Passw0rd!',
  });
  const loginName = `${username}@${w.inst.adminLoginName.split('@')[1]}`;
  const signedIn = await authorize(w.config, w.rp, { loginName, password: 'Session-Passw0rd!' });
  const tokens = await oidc.authorizationCodeGrant(w.config, signedIn.callback!, {
    pkceCodeVerifier: signedIn.codeVerifier,
    expectedState: signedIn.state,
    expectedNonce: signedIn.nonce,
  });
  expect((await oidc.fetchUserInfo(w.config, tokens.access_token, id)).sub).toBe(id);

  const list = await as(viewer).get(`/management/v1/users/${id}/sessions`);
  expect(list.status).toBe(200);
  expect(list.body).toHaveLength(1);
  expect(list.body[0]).toMatchObject({ amr: ['pwd'], clientIds: [w.app.clientId] });

  // Reading is not ending: a viewer may not.
  expect((await as(viewer).delete(`/management/v1/users/${id}/sessions/${list.body[0].id}`)).status).toBe(403);
  expect((await as(manager).delete(`/management/v1/users/${id}/sessions/unknown`)).status).toBe(404);
  const ended = await as(manager).delete(`/management/v1/users/${id}/sessions/${list.body[0].id}`);
  expect(ended.status).toBe(204);
  expect((await as(manager).get(`/management/v1/users/${id}/sessions`)).body).toEqual([]);

  // The access token made in that session no longer answers, and silent sign-in finds no session.
  await expect(oidc.fetchUserInfo(w.config, tokens.access_token, id)).rejects.toThrow();
  const silent = await authorize(w.config, w.rp, { browser: signedIn.browser, params: { prompt: 'none' } });
  expect(silent.callback?.searchParams.get('error')).toBe('login_required');

  const events = await w.rt.db.knex('audit_events').where({ instance_id: w.inst.instanceId, resource_id: id, type: 'user.session.ended' });
  expect(events).toHaveLength(1);
  expect(events[0].actor_id).toBe(manager.userId);
});

test('the change notice of an ended session leaves after the change commits: a process that reads on hearing it finds the session gone', async () => {
  const username = `n${newId()}`;
  await createHumanUser(w.sys(), { orgId: w.inst.orgId, username, email: `${username}@example.com`, emailVerified: true, password: 'Session-Passw0rd!' });
  const { id } = (await w.rt.db.knex('users').where({ instance_id: w.inst.instanceId, username }).first('id'))!;
  await authorize(w.config, w.rp, { loginName: `${username}@${w.inst.adminLoginName.split('@')[1]}`, password: 'Session-Passw0rd!' });
  const [session] = (await as(manager).get(`/management/v1/users/${id}/sessions`)).body;

  const notices = readOnNotice(w.rt.deps.changes, w.inst.instanceId, async () =>
    Number((await w.rt.db.knex('oidc_payloads').where({ instance_id: w.inst.instanceId, model: 'Session', id: session.id }).count({ n: '*' }))[0].n),
  );
  expect((await as(manager).delete(`/management/v1/users/${id}/sessions/${session.id}`)).status).toBe(204);
  const seen = await notices.seen();
  expect(seen.length).toBeGreaterThan(0);
  expect(seen).toEqual(seen.map(() => 0));
});
