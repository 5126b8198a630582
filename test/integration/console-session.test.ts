import { deactivateUser } from '../../src/domain/user/service.js';
import { localRequest, Browser, formsOf, type HttpResponse } from '../support/rp.js';
import { loginWorld, type LoginWorld } from './login-support.js';
import { consoleSignIn, manager, submitConsoleForm } from './console-support.js';

/**
 * The console's session rules, seen over HTTP: how its cookie is set, when a session ends, that
 * forms need their CSRF token, and that signing out ends the provider's session too.
 */
let w: LoginWorld;
let orgDomain: string;
beforeAll(async () => {
  w = await loginWorld('Console');
  orgDomain = w.inst.adminLoginName.split('@')[1];
});
afterAll(() => w.close());

const admin = () => consoleSignIn(w, w.inst.adminLoginName, w.inst.adminPassword);
const sessionRows = () => w.rt.db.knex('ui_sessions').where({ instance_id: w.inst.instanceId });
const get = (browser: Browser, path: string) => browser.request(new URL(path, w.issuer));

test('the first admin signs in with the printed login name and lands on their org in the console', async () => {
  const { page, browser } = await admin();
  expect(page.status).toBe(200);
  expect(page.url.pathname).toBe(`/ui/console/orgs/${w.inst.orgId}`);
  expect(page.body).toContain('Console Org');
  // The browser holds a random id; the table holds only its hash.
  const cookie = browser.find('tessera_console')!;
  const rows = await sessionRows();
  expect(rows.some((r) => r.id_hash === cookie.value)).toBe(false);
  expect(rows.length).toBeGreaterThan(0);
});

test('the session cookie is HttpOnly, SameSite=Lax and limited to the console; Secure under https', async () => {
  const browser = new Browser();
  let res = await browser.request(new URL('/ui/console', w.issuer));
  // Not signed in: sent to sign in, the page asked for kept.
  expect(res.status).toBe(302);
  expect(res.headers.location).toBe('/ui/console/sign-in?return=%2Fui%2Fconsole');
  res = await browser.request(new URL(res.headers.location!, w.issuer));
  expect(res.headers.location).toMatch(new RegExp(`^${w.issuer}/auth\\?`));
  const auth = new URL(res.headers.location!);
  expect(auth.searchParams.get('client_id')).toBe('tessera-console');
  expect(auth.searchParams.get('redirect_uri')).toBe(`${w.issuer}/ui/console/callback`);
  expect(auth.searchParams.get('code_challenge_method')).toBe('S256');
  const signIn = String(res.headers['set-cookie']);
  expect(signIn).toMatch(/tessera_console_sign_in=[^;]+; path=\/ui\/console;.*samesite=lax; httponly/i);
  expect(signIn).not.toMatch(/secure/i);

  const { page } = await consoleSignIn(w, w.inst.adminLoginName, w.inst.adminPassword);
  expect(page.status).toBe(200);

  // Behind a trusted proxy that speaks https, every console cookie is Secure.
  const proxied = await loginWorld('Proxied', { server: { trustedProxies: ['127.0.0.1', '::1', '::ffff:127.0.0.1'] } });
  try {
    const r = await localRequest(new URL('/ui/console/sign-in', proxied.issuer), { headers: { 'x-forwarded-proto': 'https' } });
    expect(r.headers.location).toMatch(/^https:\/\//);
    expect(String(r.headers['set-cookie'])).toMatch(/tessera_console_sign_in=[^;]+;.*secure.*httponly/i);
  } finally {
    await proxied.close();
  }
});

test('a new session id at every sign-in: the one held before stops working', async () => {
  const { browser } = await admin();
  const before = browser.find('tessera_console')!.value;
  const again = await consoleSignIn(w, w.inst.adminLoginName, w.inst.adminPassword, browser, '/ui/console/sign-in');
  expect(again.page.status).toBe(200);
  const after = browser.find('tessera_console')!.value;
  expect(after).not.toBe(before);
  const stale = await localRequest(new URL('/ui/console/orgs', w.issuer), { headers: { cookie: `tessera_console=${before}` } });
  expect(stale.status).toBe(302);
  expect(stale.headers.location).toMatch(/^\/ui\/console\/sign-in/);
});

test('an idle session ends after the idle timeout, any session at the absolute timeout', async () => {
  for (const [column, age] of [
    ['last_seen_at', '31 minutes'],
    ['expires_at', '-1 second'],
  ] as const) {
    const { browser } = await admin();
    expect((await get(browser, '/ui/console/orgs')).status).toBe(200);
    const count = await sessionRows().count({ n: '*' }).first();
    const value = column === 'last_seen_at' ? w.rt.db.knex.raw(`now() - interval '${age}'`) : w.rt.db.knex.raw(`now() - interval '1 second'`);
    // The newest session is this browser's.
    const newest = await sessionRows().orderBy('created_at', 'desc').first();
    await w.rt.db
      .knex('ui_sessions')
      .where({ instance_id: w.inst.instanceId, id_hash: newest.id_hash })
      .update({ [column]: value });
    const res = await get(browser, '/ui/console/orgs');
    expect(res.status).toBe(302);
    expect(res.headers.location).toBe('/ui/console/sign-in?return=%2Fui%2Fconsole%2Forgs');
    // The session is gone from the table, and the browser's cookie is cleared.
    expect(Number((await sessionRows().count({ n: '*' }).first())!.n)).toBe(Number(count!.n) - 1);
    expect(browser.find('tessera_console')).toBeUndefined();
  }
});

test('a form without its CSRF token changes nothing', async () => {
  const { browser, page } = await admin();
  const orgs = (await browser.navigate(new URL('/ui/console/orgs', w.issuer))) as HttpResponse;
  const form = formsOf(orgs).find((f) => f.action.pathname === '/ui/console/orgs' && f.method === 'post')!;
  expect(form.fields._csrf).toBeTruthy();
  for (const csrf of ['', 'forged', undefined]) {
    const fields: Record<string, string> = { name: `Forged ${csrf}` };
    if (csrf !== undefined) fields._csrf = csrf;
    const res = await browser.request(form.action, { form: fields });
    expect(res.status).toBe(403);
    expect(res.body).toContain('This form has expired');
  }
  expect(await w.rt.db.knex('orgs').where({ instance_id: w.inst.instanceId }).where('name', 'like', 'Forged%')).toHaveLength(0);
  expect(page.status).toBe(200);
  // With its token, the same form works.
  const ok = await submitConsoleForm(browser, orgs, '/ui/console/orgs', { name: 'Real Org' });
  expect(ok.status).toBe(200);
  expect(ok.body).toContain('Organization Real Org created.');
});

test('signing out ends the console session and the sign-in session at the provider', async () => {
  const { browser, page } = await admin();
  const accountId = w.inst.adminUserId;
  const providerSessions = () =>
    w.rt.db.knex('oidc_payloads').where({ instance_id: w.inst.instanceId, model: 'Session' }).whereRaw(`payload->>'accountId' = ?`, [accountId]);
  const before = (await providerSessions()).length;
  expect(before).toBeGreaterThan(0);
  const form = formsOf(page).find((f) => f.action.pathname === '/ui/console/sign-out')!;
  const out = await browser.request(form.action, { form: form.fields });
  expect(out.status).toBe(302);
  const end = new URL(out.headers.location!);
  expect(end.pathname).toBe('/session/end');
  expect(end.searchParams.get('id_token_hint')).toBeTruthy();
  expect(end.searchParams.get('post_logout_redirect_uri')).toBe(`${w.issuer}/ui/console/signed-out`);
  // The provider asks for confirmation (no script, so no auto-submit); yes, sign me out.
  const confirm = (await browser.navigate(end)) as HttpResponse;
  const logoutForm = formsOf(confirm).find((f) => f.action.pathname.includes('/session/end/confirm'))!;
  const done = (await browser.navigate(logoutForm.action, { form: { ...logoutForm.fields, logout: 'yes' } })) as HttpResponse;
  expect(done.url.pathname).toBe('/ui/console/signed-out');
  expect(done.body).toContain('Signed out');
  expect(await providerSessions()).toHaveLength(before - 1);
  // The console asks for a new sign-in.
  const again = await browser.request(new URL('/ui/console/orgs', w.issuer));
  expect(again.status).toBe(302);
  expect(again.headers.location).toMatch(/^\/ui\/console\/sign-in/);
});

test('a user deactivated while signed in is signed out of the console at the next request', async () => {
  const m = await manager(w.sys(), w.inst.orgId, `owner${Date.now()}`, orgDomain, ['ORG_OWNER']);
  const { browser, page } = await consoleSignIn(w, m.loginName, m.password);
  expect(page.status).toBe(200);
  expect((await get(browser, `/ui/console/orgs/${w.inst.orgId}/users`)).status).toBe(200);
  await deactivateUser(w.sys(), m.id);
  const res = await get(browser, `/ui/console/orgs/${w.inst.orgId}/users`);
  expect(res.status).toBe(302);
  expect(res.headers.location).toMatch(/^\/ui\/console\/sign-in/);
  expect(await w.rt.db.knex('ui_sessions').where({ instance_id: w.inst.instanceId, user_id: m.id })).toHaveLength(0);
});
