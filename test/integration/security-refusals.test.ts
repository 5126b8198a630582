import { setOrgPolicy } from '../../src/domain/policy/service.js';
import { newId } from '../../src/shared/ids.js';
import { addApp, addHuman, addOrg, addProject, discover, grantRoles } from '../support/rp.js';
import { LoginSession, loginWorld, type LoginWorld } from './login-support.js';

/**
 * A refusal (projectRoleCheck, hasProjectCheck, a user outside the requested org) is no dead end:
 * the page wears the look of the org whose rules apply, offers another account, and goes back to
 * the application with error=access_denied and its state.
 */
let w: LoginWorld;
let checked: LoginWorld; // the same server, with an app whose project checks roles
let projectId: string;
let other: { id: string; domain: string };

beforeAll(async () => {
  w = await loginWorld('Refusals');
  await setOrgPolicy(w.sys(), w.inst.orgId, 'label', { primaryColor: '#123456' });
  ({ projectId } = await addProject(w.inst.scope, w.inst.orgId, { roleCheck: true, roles: ['reader'] }));
  const app = await addApp(w.rt, w.inst.scope, projectId);
  const rp = { issuer: w.issuer, clientId: app.clientId, clientSecret: app.clientSecret, redirectUri: app.redirectUri };
  checked = { ...w, app, rp, config: await discover(rp) };
  const domain = `other-${newId()}.test`;
  other = { id: await addOrg(w.inst.scope, 'Other', domain), domain };
  await setOrgPolicy(w.sys(), other.id, 'label', { primaryColor: '#654321' });
});
afterAll(() => w.close());

const uidOf = (s: LoginSession) => s.page.url.pathname.split('/')[3];

async function refusedByRoleCheck(): Promise<LoginSession> {
  const u = await addHuman(w.rt, w.inst.scope, w.inst.orgId);
  const s = await new LoginSession(checked).start();
  await s.password(u.loginName, u.password);
  expect(s.page.status).toBe(403);
  expect(s.page.body).toContain('You have no role on this application');
  return s;
}

describe('projectRoleCheck refuses a user without a role', () => {
  test('the page wears the look of the org whose rules apply and offers both ways out', async () => {
    const s = await refusedByRoleCheck();
    expect(s.page.body).toContain(`/branding/${w.inst.orgId}/theme.css`);
    expect(s.page.body).toContain(`href="/ui/login/${uidOf(s)}/other"`);
    expect(s.page.body).toMatch(new RegExp(`action="/ui/login/${uidOf(s)}/abort"`));
  });

  test('"back to the application" returns error=access_denied with the state to the registered redirect URI', async () => {
    const s = await refusedByRoleCheck();
    await s.submit('/abort');
    expect(s.callback).toBeDefined();
    expect(`${s.callback!.origin}${s.callback!.pathname}`).toBe(checked.rp.redirectUri);
    expect(s.callback!.searchParams.get('error')).toBe('access_denied');
    expect(s.callback!.searchParams.get('state')).toBe(s.state);
  });

  test('"use another account" lets a user with a role sign in', async () => {
    const s = await refusedByRoleCheck();
    const granted = await addHuman(w.rt, w.inst.scope, w.inst.orgId);
    await grantRoles(w.inst.scope, granted.userId, projectId, w.inst.orgId, ['reader']);
    await s.get(`/ui/login/${uidOf(s)}/other`);
    await s.password(granted.loginName, granted.password);
    expect((await s.tokens()).sub).toBe(granted.userId);
  });
});

test("a signed-in user outside the org the application asks for: the requested org's look, and both ways out", async () => {
  const u = await addHuman(w.rt, w.inst.scope, w.inst.orgId);
  const first = await new LoginSession(w).start();
  await first.password(u.loginName, u.password);
  await first.tokens();
  // Single sign-on into a request for another org's users.
  const s = await new LoginSession(w, first.browser).start({}, `openid urn:zitadel:iam:org:id:${other.id}`);
  expect(s.page.status).toBe(403);
  expect(s.page.body).toContain('only accepts users of another organization');
  expect(s.page.body).toContain(`/branding/${other.id}/theme.css`);
  expect(s.page.body).toContain(`href="/ui/login/${uidOf(s)}/other"`);
  await s.submit('/abort');
  expect(s.callback!.searchParams.get('error')).toBe('access_denied');
  expect(s.callback!.searchParams.get('state')).toBe(s.state);
});
