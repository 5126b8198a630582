import { loginWorld, LoginSession, type LoginWorld } from './login-support.js';
import { startUpstream, type Upstream } from '../browser/upstream.js';
import { addHuman, addOrg } from '../support/rp.js';
import { setOrgPolicy } from '../../src/domain/policy/service.js';
import { createIdp } from '../../src/domain/idp/service.js';
import { getUser } from '../../src/domain/user/repository.js';
import { newId } from '../../src/shared/ids.js';

let w: LoginWorld;
let up: Upstream;
beforeAll(async () => {
  w = await loginWorld('Idp');
  up = await startUpstream([`http://${w.inst.domain}:${w.server.port}/ui/login/idp/callback`]);
});
afterAll(async () => {
  await up.close();
  await w.close();
});

async function orgWithIdp(idp: Partial<Parameters<typeof createIdp>[1]>, login: object = {}) {
  const domain = `x${newId()}.example`;
  const orgId = await addOrg(w.inst.scope, `Customer ${domain}`, domain);
  const { id } = await createIdp(w.sys(), {
    orgId,
    name: 'Customer AD',
    issuer: up.issuer,
    clientId: up.clientId,
    clientSecret: up.clientSecret,
    ...idp,
  });
  await setOrgPolicy(w.sys(), orgId, 'login', { allowExternalIdp: true, idpIds: [id], ...login });
  return { orgId, domain, idpId: id };
}

/** Walks the upstream's own login and consent pages as `sub`. */
async function upstreamLogin(s: LoginSession, sub: string) {
  if (s.page.url.origin !== up.issuer) throw new Error(`not at the upstream: ${s.page.status} ${s.page.url} ${s.page.body.slice(0, 1500)}`);
  await s.submitFirst({ login: sub });
  if (!s.callback && s.page.url.origin === up.issuer) await s.submitFirst();
  return s;
}

test('domain discovery into an org that signs in only through its IdP, with JIT creation', async () => {
  const o = await orgWithIdp({ isCreationAllowed: true, isAutoCreation: true }, { allowUsernamePassword: false });
  const sub = `ext-${newId()}`;
  up.accounts.set(sub, { email: `jit@${o.domain}`, email_verified: true, given_name: 'Jit', family_name: 'Created', preferred_username: `jit@${o.domain}` });
  const s = await new LoginSession(w).start();
  await s.submit('/loginname', { loginName: `jit@${o.domain}` });
  await upstreamLogin(s, sub);
  const claims = await s.tokens();
  const user = (await getUser(w.inst.scope, claims.sub))!;
  expect(user).toMatchObject({ org_id: o.orgId, email: `jit@${o.domain}`, email_verified: true, given_name: 'Jit', state: 'active', password_hash: null });
  expect(await w.inst.scope.table('user_idp_links').where({ idp_id: o.idpId, external_user_id: sub }).first()).toMatchObject({ user_id: user.id });

  // The second login finds the link, and isAutoUpdate is off: the profile stays.
  up.accounts.set(sub, { ...up.accounts.get(sub), given_name: 'Changed' });
  const again = await new LoginSession(w).start();
  await again.submit('/loginname', { loginName: `jit@${o.domain}` });
  expect((await (await upstreamLogin(again, sub)).tokens()).sub).toBe(user.id);
  expect((await getUser(w.inst.scope, user.id))!.given_name).toBe('Jit');
});

test('autoLinking=email links a verified email to the existing user; isAutoUpdate refreshes the profile', async () => {
  const o = await orgWithIdp({ autoLinking: 'email', isAutoUpdate: true, isCreationAllowed: false });
  const existing = await addHuman(w.rt, w.inst.scope, o.orgId, { username: `ex${newId()}`, email: `linked${newId()}@${o.domain}` });
  const email = (await getUser(w.inst.scope, existing.userId))!.email!;
  const sub = `ext-${newId()}`;
  up.accounts.set(sub, { email, email_verified: true, given_name: 'Fresh', family_name: 'Name' });
  const s = await new LoginSession(w).start({}, `openid urn:zitadel:iam:org:id:${o.orgId}`);
  expect(s.page.body).toContain(`/idp/${o.idpId}`);
  await s.get(`${s.page.url.pathname}/idp/${o.idpId}`);
  await upstreamLogin(s, sub);
  expect((await s.tokens()).sub).toBe(existing.userId);
  expect((await getUser(w.inst.scope, existing.userId))!.given_name).toBe('Fresh');
});

test('without auto linking, an existing account is linked only after its password confirms it', async () => {
  const o = await orgWithIdp({ autoLinking: 'none', isCreationAllowed: false });
  const existing = await addHuman(w.rt, w.inst.scope, o.orgId, { username: `pw${newId()}`, email: `confirm${newId()}@${o.domain}` });
  const sub = `ext-${newId()}`;
  up.accounts.set(sub, { email: (await getUser(w.inst.scope, existing.userId))!.email, email_verified: false });
  const s = await new LoginSession(w).start({}, `openid urn:zitadel:iam:org:id:${o.orgId}`);
  await s.get(`${s.page.url.pathname}/idp/${o.idpId}`);
  await upstreamLogin(s, sub);
  expect(s.page.body).toContain('/idp/link');
  await s.submit('/idp/link', { password: 'not-it' });
  expect(s.page.status).toBe(400);
  await s.submit('/idp/link', { password: existing.password });
  expect((await s.tokens()).sub).toBe(existing.userId);
});

test('links are keyed by IdP: the same upstream subject through another IdP is not the linked user', async () => {
  const o = await orgWithIdp({ isCreationAllowed: true, isAutoCreation: true });
  const other = await orgWithIdp({ isCreationAllowed: false });
  const sub = `ext-${newId()}`;
  up.accounts.set(sub, { email: `same${newId()}@nowhere.example`, email_verified: true });
  const first = await new LoginSession(w).start({}, `openid urn:zitadel:iam:org:id:${o.orgId}`);
  await first.get(`${first.page.url.pathname}/idp/${o.idpId}`);
  await (await upstreamLogin(first, sub)).tokens();
  const second = await new LoginSession(w).start({}, `openid urn:zitadel:iam:org:id:${other.orgId}`);
  await second.get(`${second.page.url.pathname}/idp/${other.idpId}`);
  await upstreamLogin(second, sub);
  expect(second.callback).toBeUndefined();
  expect(second.page.status).toBe(403);
  expect(second.page.body).toContain('login.idp_no_account');
});

test('an IdP the policy does not offer cannot be started', async () => {
  const o = await orgWithIdp({});
  const s = await new LoginSession(w).start();
  await s.get(`${s.page.url.pathname}/idp/${o.idpId}`);
  expect(s.page.status).toBe(404);
});

test('creation allowed but not automatic: the user confirms the prefilled profile first', async () => {
  const o = await orgWithIdp({ isCreationAllowed: true, isAutoCreation: false });
  const sub = `ext-${newId()}`;
  up.accounts.set(sub, { email: `conf${newId()}@${o.domain}`, email_verified: true, given_name: 'Con', family_name: 'Firm' });
  const s = await new LoginSession(w).start({}, `openid urn:zitadel:iam:org:id:${o.orgId}`);
  await s.get(`${s.page.url.pathname}/idp/${o.idpId}`);
  await upstreamLogin(s, sub);
  expect(s.page.body).toContain('/idp/register');
  expect(s.page.body).toContain('value="Con"');
  await s.submit('/idp/register', { givenName: 'Conny' });
  const user = (await getUser(w.inst.scope, (await s.tokens()).sub))!;
  expect(user).toMatchObject({ org_id: o.orgId, given_name: 'Conny', family_name: 'Firm', email_verified: true });
  expect(await w.inst.scope.table('user_idp_links').where({ idp_id: o.idpId, external_user_id: sub }).first()).toMatchObject({ user_id: user.id });
});
