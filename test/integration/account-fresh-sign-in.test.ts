import { API_SCOPE } from '../../src/api/oidc-tokens.js';
import { confirmTotpEnrolment, currentStep, startTotpEnrolment, totpCodeAt } from '../../src/domain/mfa/service.js';
import { newId } from '../../src/shared/ids.js';
import { addHuman, Browser, client, formsOf, type HttpResponse } from '../support/rp.js';
import { client as api, machineCaller } from './api-client.js';
import { consoleSignIn, submitConsoleForm } from './console-support.js';
import { LoginSession, loginWorld, type LoginWorld } from './login-support.js';

/**
 * Changes to a user's own second factor need a recent sign-in, whichever door the user takes: the
 * Auth API answers 403 reauthentication_required (problem+json) to a token from an old sign-in,
 * the account page sends the browser through the login again. A manager resetting someone
 * else's factor is not held to it. The window is eight seconds here (login.freshSignInS).
 */
const WINDOW_S = 8;
let w: LoginWorld;
beforeAll(async () => {
  w = await loginWorld('Fresh', { login: { freshSignInS: WINDOW_S } });
});
afterAll(async () => w?.close());

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Until a sign-in made now is older than the window. */
const letSignInAge = () => sleep((WINDOW_S + 1.2) * 1000);
/** The last time step each authenticator app's code was used at: the server takes a step once. */
const stepsUsed = new Map<string, number>();
/**
 * A code the authenticator app shows, each time step once and within the one-step drift the
 * server allows: when the steps the drift allows are used up, it waits for the clock.
 */
async function nextCode(secret: string): Promise<string> {
  const step = Math.max(currentStep() - 1, (stepsUsed.get(secret) ?? -Infinity) + 1);
  while (step > currentStep() + 1) await sleep(250);
  stepsUsed.set(secret, step);
  return totpCodeAt(secret, step);
}

/** The user's authenticator app set up by the system, its first code one step back. */
async function enrol(userId: string, loginName: string): Promise<string> {
  const { secret } = await startTotpEnrolment(w.sys(), userId, { issuer: 'Tessera', accountName: loginName });
  await confirmTotpEnrolment(w.sys(), userId, await nextCode(secret));
  return secret;
}

async function userWithTotp() {
  const u = await addHuman(w.rt, w.inst.scope, w.inst.orgId, { username: `fr${newId()}` });
  return { ...u, secret: await enrol(u.userId, u.loginName) };
}

/** The code flow with the API's scope, password and the authenticator code; the access token. */
async function apiToken(u: { loginName: string; password: string; secret: string }): Promise<string> {
  const s = await new LoginSession(w).start({}, `openid ${API_SCOPE}`);
  await s.password(u.loginName, u.password);
  await s.submit('/mfa', { code: await nextCode(u.secret) });
  const tokens = await client.authorizationCodeGrant(w.config, s.callback!, { pkceCodeVerifier: s.codeVerifier, expectedState: s.state });
  return tokens.access_token;
}

/** The API's host as the issuer names it: the provider behind an access token is the issuer's. */
const host = () => `${w.inst.domain}:${w.server.port}`;
const me = (token: string) => api(w.server.port, host(), token);
const totpOf = async (token: string) => (await me(token).get('/auth/v1/users/me/auth_factors')).body.result.find((f: { type: string }) => f.type === 'totp');

test('the Auth API refuses to remove the caller’s authenticator after an old sign-in (reauthentication_required), and removes it after a new one', async () => {
  const u = await userWithTotp();
  const old = await apiToken(u);
  expect(await totpOf(old)).toMatchObject({ type: 'totp', state: 'ready' });
  await letSignInAge();

  const refused = await me(old).delete('/auth/v1/users/me/auth_factors/otp');
  expect(refused.status).toBe(403);
  expect(refused.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(refused.body).toMatchObject({ code: 'reauthentication_required', details: { maxAgeS: WINDOW_S } });
  expect(await totpOf(old)).toMatchObject({ state: 'ready' });

  const fresh = await apiToken(u);
  expect((await me(fresh).delete('/auth/v1/users/me/auth_factors/otp')).status).toBe(204);
  expect(await totpOf(fresh)).toBeUndefined();
});

test("a user manager removes another user's authenticator without any sign-in of that user (no freshness rule)", async () => {
  const u = await userWithTotp();
  const manager = await machineCaller(w.rt, w.inst, w.inst.orgId, [{ level: 'org', roles: ['ORG_USER_MANAGER'] }]);
  const res = await api(w.server.port, host(), manager.token).delete(`/management/v1/users/${u.userId}/auth_factors/otp`);
  expect(res.status).toBe(204);
  const listed = await api(w.server.port, host(), manager.token).get(`/management/v1/users/${u.userId}/auth_factors`);
  expect(listed.body.result).toEqual([]);
});

test('the account page sends a user with an old sign-in through the login again before removing the authenticator, then removes it', async () => {
  const u = await addHuman(w.rt, w.inst.scope, w.inst.orgId, { username: `fp${newId()}` });
  const { browser } = await consoleSignIn(w, u.loginName, u.password, new Browser(), '/ui/account');
  // The authenticator comes after the sign-in, so only the sign-in again asks for its code.
  const secret = await enrol(u.userId, u.loginName);
  const confirm = new URL('/ui/account/security/totp/remove', w.issuer);
  const signInAgain = `${w.issuer}/ui/account/sign-in`;

  // The sign-in is made ten minutes old (as account-security.test.ts does); the form is posted anyway.
  await w.inst.scope
    .table('ui_sessions')
    .where({ user_id: u.userId })
    .update({ data: JSON.stringify({ authTime: Math.floor(Date.now() / 1000) - 600 }) });
  const profile = (await browser.navigate(new URL('/ui/account', w.issuer))) as HttpResponse;
  const csrf = formsOf(profile).find((f) => f.fields._csrf)!.fields._csrf;
  const post = await browser.request(confirm, { form: { _csrf: csrf } });
  expect(post.status).toBe(302);
  const to = new URL(post.headers.location!, w.issuer);
  expect(to.href.startsWith(signInAgain)).toBe(true);
  expect(Object.fromEntries(to.searchParams)).toEqual({ reauth: '1', hint: u.loginName, return: confirm.pathname });
  expect((await browser.navigate(confirm, {}, signInAgain)) as { redirectedTo: URL }).toMatchObject({ redirectedTo: expect.any(URL) });

  // Through the login again (it asks for the password despite the session, then the code), back to the confirmation.
  let step = (await browser.navigate(to)) as HttpResponse;
  expect(formsOf(step).map((f) => f.action.pathname)).toContainEqual(expect.stringMatching(/\/loginname$/));
  expect(step.body).toContain(u.loginName);
  for (const [suffix, fields] of [
    ['/loginname', { loginName: u.loginName }],
    ['/password', { password: u.password }],
    ['/mfa', { code: await nextCode(secret) }],
  ] as const) {
    const form = formsOf(step).find((f) => f.action.pathname.endsWith(suffix))!;
    step = (await browser.navigate(form.action, { form: { ...form.fields, ...fields } })) as HttpResponse;
  }
  expect(step.url.pathname).toBe(confirm.pathname);
  const done = await submitConsoleForm(browser, step, '/security/totp/remove');
  expect(done.url.pathname).toBe('/ui/account/security');
  expect(done.body).toContain('No authenticator app is set up.');
});
