import { createIdp } from '../../src/domain/idp/service.js';
import { patchPolicy } from '../../src/domain/policy/service.js';
import { createHumanUser } from '../../src/domain/user/service.js';
import { newId } from '../../src/shared/ids.js';
import { addOrg, formsOf, localRequest, type Browser, type HttpResponse } from '../support/rp.js';
import { client, machineCaller } from './api-client.js';
import { consoleSignIn, manager, submitConsoleForm } from './console-support.js';
import { LoginSession, loginWorld, type LoginWorld } from './login-support.js';

/**
 * The console's Policies area over HTTP, as a browser without JavaScript uses it: the login policy
 * editor with its embedded login page preview (saved and unsaved values), what a save does to the
 * next real login page, reset, bad input, a stale form; the other policies saved and enforced; the
 * domain policy an instance administrator's alone.
 */
let w: LoginWorld;
let admin: Browser;
beforeAll(async () => {
  w = await loginWorld('Policies');
  ({ browser: admin } = await consoleSignIn(w, w.inst.adminLoginName, w.inst.adminPassword));
}, 120_000);
afterAll(() => w.close());

const db = () => w.rt.db.knex;
const orgRows = (orgId: string, kind: string) => db()('policies').where({ instance_id: w.inst.instanceId, org_id: orgId, kind });

async function newOrg(): Promise<{ id: string; domain: string }> {
  const domain = `p${newId()}.example`;
  return { id: await addOrg(w.inst.scope, `Org ${domain}`, domain), domain };
}

async function get(browser: Browser, path: string): Promise<HttpResponse> {
  return (await browser.navigate(new URL(path, w.issuer))) as HttpResponse;
}

/** The login page the org's users meet next: an authorization request of the app, scoped to the org. */
async function nextLoginPage(orgId: string): Promise<HttpResponse> {
  const s = await new LoginSession(w).start({}, `openid urn:zitadel:iam:org:id:${orgId}`);
  expect(s.page.status).toBe(200);
  return s.page;
}

/** The editor's embedded preview: the iframe's address, fetched as the browser would. */
function previewSrc(editor: HttpResponse): string {
  const m = /<iframe id="login-preview" src="([^"]+)" title="Preview of the login page"/.exec(editor.body);
  if (!m) throw new Error(`no preview iframe on ${editor.url.pathname}: ${editor.body.slice(0, 600)}`);
  return m[1].replace(/&amp;/g, '&');
}

/**
 * The policy form as the browser would send it: hidden fields, text and number boxes, checked
 * boxes only, selected options; then `set` (a string or a list sets a field, null unchecks/removes it).
 */
function shownFields(page: HttpResponse, set: Record<string, string | string[] | null> = {}): [string, string][] {
  const form = /<form method="post" action="[^"]*" novalidate id="policy-form">([\s\S]*?)<\/form>/.exec(page.body);
  if (!form) throw new Error(`no policy form on ${page.url.pathname} (${page.status}): ${page.body.slice(0, 600)}`);
  const attr = (src: string, n: string) => new RegExp(`\\b${n}="([^"]*)"`).exec(src)?.[1];
  const decode = (v: string) => v.replace(/&#34;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
  const out: [string, string][] = [];
  for (const m of form[1].matchAll(/<input\b([^>]*)>/g)) {
    const name = attr(m[1], 'name');
    if (!name || (attr(m[1], 'type') === 'checkbox' && !/\schecked\b/.test(m[1]))) continue;
    out.push([name, decode(attr(m[1], 'value') ?? '')]);
  }
  for (const m of form[1].matchAll(/<select\b[^>]*name="([^"]+)"[^>]*>([\s\S]*?)<\/select>/g)) {
    const chosen = /<option value="([^"]*)" selected>/.exec(m[2]);
    if (chosen) out.push([m[1], decode(chosen[1])]);
  }
  const kept = out.filter(([name]) => !(name in set));
  for (const [name, v] of Object.entries(set)) for (const item of v === null ? [] : Array.isArray(v) ? v : [v]) kept.push([name, item]);
  return kept;
}

/** Submits the policy form (or its "Preview these settings" button, `to` …/login/preview) with these changes. */
async function submitPolicy(browser: Browser, page: HttpResponse, set: Record<string, string | string[] | null> = {}, to?: string): Promise<HttpResponse> {
  const action = to ?? /<form method="post" action="([^"]*)" novalidate id="policy-form">/.exec(page.body)![1];
  return (await browser.navigate(new URL(action, w.issuer), { form: shownFields(page, set) })) as HttpResponse;
}

const offersRegistration = (page: HttpResponse) => page.body.includes('Create an account');
const asksLoginName = (page: HttpResponse) => page.body.includes('id="loginName"');

test('the login policy editor embeds the preview; a save shows in the next login page, reset takes it back', async () => {
  const org = await newOrg();
  const base = `/ui/console/orgs/${org.id}/policies/login`;
  expect(offersRegistration(await nextLoginPage(org.id))).toBe(false);

  const editor = await get(admin, base);
  expect(editor.status).toBe(200);
  expect(editor.headers['content-security-policy']).toContain("frame-ancestors 'none'");
  expect(editor.body).toContain('<script src="/ui/console/assets/login-preview.js" defer></script>');
  expect(previewSrc(editor)).toBe(`${base}/preview`);
  const saved = await get(admin, previewSrc(editor));
  expect(saved.status).toBe(200);
  // Framed by the console's own pages, and only this page.
  expect(saved.headers['content-security-policy']).toContain("frame-ancestors 'self'");
  expect(saved.headers['content-security-policy']).toContain("script-src 'self'");
  expect(saved.headers['x-frame-options']).toBe('SAMEORIGIN');
  expect(editor.headers['x-frame-options']).toBe('DENY');
  expect(offersRegistration(saved)).toBe(false);
  const script = await localRequest(new URL('/ui/console/assets/login-preview.js', w.issuer));
  expect(script.status).toBe(200);
  expect(script.headers['content-type']).toContain('text/javascript');

  const res = await submitPolicy(admin, editor, { allowRegister: 'on' });
  expect(res.status).toBe(200);
  expect(res.body).toContain('The policy was saved.');
  expect((await orgRows(org.id, 'login'))[0].settings).toMatchObject({ allowRegister: true });
  expect(offersRegistration(await nextLoginPage(org.id))).toBe(true);
  expect(offersRegistration(await get(admin, previewSrc(res)))).toBe(true);

  const reset = await submitConsoleForm(admin, res, '/policies/login/reset');
  expect(reset.body).toContain('The organization follows the instance default again.');
  expect(await orgRows(org.id, 'login')).toHaveLength(0);
  expect(offersRegistration(await nextLoginPage(org.id))).toBe(false);
});

test('"Preview these settings" keeps the unsaved values in the form and previews them; nothing is saved', async () => {
  const org = await newOrg();
  const idp = await createIdp(w.sys(), { orgId: org.id, name: 'Upstream Corp', issuer: 'https://idp.example.com', clientId: 'c', clientSecret: 's' });
  const base = `/ui/console/orgs/${org.id}/policies/login`;
  const editor = await get(admin, base);
  const set = { allowRegister: 'on', allowExternalIdp: 'on', idpIds: [idp.id], passwordlessType: 'not_allowed', passwordCheckLifetimeS: '864000' };
  const shown = await submitPolicy(admin, editor, set, `${base}/preview`);
  expect(shown.status).toBe(200);
  expect(shown.url.pathname).toBe(`${base}/preview`);
  expect(shown.body).toMatch(/id="f-login-allowRegister" name="allowRegister" type="checkbox" value="on" checked/);
  expect(shown.body).toContain('value="864000"');
  expect(shown.body).toContain('The login page with the settings in the form, not saved yet.');
  const draft = await get(admin, previewSrc(shown));
  expect(draft.status).toBe(200);
  expect(offersRegistration(draft)).toBe(true);
  expect(draft.body).toContain('Continue with Upstream Corp');
  expect(draft.body).not.toContain('Sign in with a passkey');
  expect(asksLoginName(draft)).toBe(true);
  // Nothing saved: the saved preview and the next login are as before.
  expect(await orgRows(org.id, 'login')).toHaveLength(0);
  const saved = await get(admin, `${base}/preview`);
  expect(offersRegistration(saved)).toBe(false);
  expect(saved.body).not.toContain('Continue with Upstream Corp');
  expect(saved.body).toContain('Sign in with a passkey');
  expect(offersRegistration(await nextLoginPage(org.id))).toBe(false);

  // No password field where the policy allows none; a half-typed number previews the saved value meanwhile.
  const noPassword = await get(admin, `${base}/preview?draft=1&allowExternalIdp=on&idpIds=${idp.id}&passwordCheckLifetimeS=1.5`);
  expect(noPassword.status).toBe(200);
  expect(asksLoginName(noPassword)).toBe(false);
  expect(noPassword.body).toContain('Continue with Upstream Corp');

  // In German, for a German-speaking browser.
  const url = new URL(base, w.issuer);
  const de = await localRequest(url, { headers: { cookie: admin.cookieHeader(url), 'accept-language': 'de', accept: 'text/html' } });
  expect(de.status).toBe(200);
  expect(de.body).toContain('title="Vorschau der Anmeldeseite"');
  expect(de.body).toContain('Vorschau dieser Einstellungen');
});

test('bad input comes back with the values and a message per field, and saves nothing', async () => {
  const org = await newOrg();
  const base = `/ui/console/orgs/${org.id}/policies/login`;
  const editor = await get(admin, base);
  const res = await submitPolicy(admin, editor, { allowRegister: 'on', passwordCheckLifetimeS: '1.5', defaultRedirectUri: 'javascript:alert(1)' });
  expect(res.status).toBe(400);
  expect(res.body).toMatch(/id="f-login-passwordCheckLifetimeS"[^>]*aria-invalid="true"/);
  expect(res.body).toMatch(/id="f-login-defaultRedirectUri"[^>]*aria-invalid="true"/);
  expect(res.body).toContain('Please enter a whole number.');
  expect(res.body).toContain('value="1.5"');
  expect(res.body).toContain('value="javascript:alert(1)"');
  expect(res.body).toMatch(/name="allowRegister" type="checkbox" value="on" checked/);
  expect(await orgRows(org.id, 'login')).toHaveLength(0);
  // The preview button with bad input: the same, and the preview stays the saved policy's.
  const preview = await submitPolicy(admin, editor, { passwordCheckLifetimeS: 'soon' }, `${base}/preview`);
  expect(preview.status).toBe(400);
  expect(preview.body).toContain('Please enter a whole number.');
  expect(previewSrc(preview)).toBe(`${base}/preview`);
  expect(await orgRows(org.id, 'login')).toHaveLength(0);
});

test('a stale form says so and overwrites nothing', async () => {
  const org = await newOrg();
  const editor = await get(admin, `/ui/console/orgs/${org.id}/policies/login`);
  await patchPolicy(w.sys(), org.id, 'login', { hidePasswordReset: true });
  const res = await submitPolicy(admin, editor, { forceMfa: 'on' });
  expect(res.status).toBe(409);
  expect(res.body).toContain('Someone else changed this in the meantime');
  expect(res.body).toMatch(/name="forceMfa" type="checkbox" value="on" checked/);
  const [row] = await orgRows(org.id, 'login');
  expect(row.settings).toMatchObject({ forceMfa: false, hidePasswordReset: true });
  // Reset with a stale version is refused too.
  const fresh = await get(admin, `/ui/console/orgs/${org.id}/policies/login`);
  await patchPolicy(w.sys(), org.id, 'login', { hidePasswordReset: false });
  const staleReset = await submitConsoleForm(admin, fresh, '/policies/login/reset');
  expect(staleReset.body).toContain('Someone else changed this in the meantime');
  expect(await orgRows(org.id, 'login')).toHaveLength(1);
});

test('password complexity saved in the console refuses a weak password when the API creates a user', async () => {
  const org = await newOrg();
  const editor = await get(admin, `/ui/console/orgs/${org.id}/policies/password_complexity`);
  const res = await submitPolicy(admin, editor, { minLength: '14', hasSymbol: 'on' });
  expect(res.body).toContain('The policy was saved.');
  const owner = client(w.server.port, w.inst.domain, (await machineCaller(w.rt, w.inst, org.id, [{ level: 'org', roles: ['ORG_OWNER'] }])).token);
  const weak = await owner.post('/management/v1/users/human', { username: `weak${newId()}`, email: 'weak@example.com', password: 'Short-Pass1' });
  expect(weak.status).toBe(422);
  expect(JSON.stringify(weak.body)).toMatch(/14/);
  const strong = await owner.post('/management/v1/users/human', { username: `strong${newId()}`, email: 'strong@example.com', password: 'Long-Enough-Pass1!' });
  expect(strong.status).toBe(201);
});

test('a lockout policy saved in the console locks the account after that many wrong passwords', async () => {
  const org = await newOrg();
  const username = `lock${newId()}`;
  await createHumanUser(w.sys(), { orgId: org.id, username, email: `${username}@example.com`, emailVerified: true, password: 'Right-Passw0rd!' });
  const editor = await get(admin, `/ui/console/orgs/${org.id}/policies/lockout`);
  const res = await submitPolicy(admin, editor, { maxPasswordAttempts: '2' });
  expect(res.body).toContain('The policy was saved.');
  for (let i = 0; i < 2; i++) {
    const s = await new LoginSession(w).start({}, `openid urn:zitadel:iam:org:id:${org.id}`);
    await s.password(`${username}@${org.domain}`, 'Wrong-Passw0rd!');
    expect(s.callback).toBeUndefined();
  }
  const s = await new LoginSession(w).start({}, `openid urn:zitadel:iam:org:id:${org.id}`);
  await s.password(`${username}@${org.domain}`, 'Right-Passw0rd!');
  expect(s.callback).toBeUndefined();
  expect((await db()('users').where({ instance_id: w.inst.instanceId, username, org_id: org.id }).first()).state).toBe('locked');
});

test('the notification policy saved in the console decides whether a password change is mailed', async () => {
  const org = await newOrg();
  const username = `note${newId()}`;
  const email = `${username}@example.com`;
  const { id } = await createHumanUser(w.sys(), { orgId: org.id, username, email, emailVerified: true, password: 'Right-Passw0rd!' });
  const editor = await get(admin, `/ui/console/orgs/${org.id}/policies/notification`);
  expect(editor.body).toMatch(/name="passwordChange" type="checkbox" value="on" checked/);
  const off = await submitPolicy(admin, editor, { passwordChange: null });
  expect(off.body).toContain('The policy was saved.');
  expect((await orgRows(org.id, 'notification'))[0].settings).toEqual({ passwordChange: false });
  await w.notifier.passwordChanged(w.inst.scope, id);
  const on = await submitPolicy(admin, off, { passwordChange: 'on' });
  expect(on.body).toContain('The policy was saved.');
  await w.notifier.passwordChanged(w.inst.scope, id);
  await w.smtp.waitFor(email);
  // Only the second change was mailed.
  await new Promise((r) => setTimeout(r, 500));
  expect(w.smtp.mails.filter((m) => m.to.includes(email))).toHaveLength(1);
});

test('the domain policy is an instance administrator’s: an org owner gets no form, and a forged POST is a 404', async () => {
  const org = await newOrg();
  const m = await manager(w.sys(), org.id, `owner${newId()}`, org.domain, ['ORG_OWNER']);
  const { browser } = await consoleSignIn(w, m.loginName, m.password);
  const path = `/ui/console/orgs/${org.id}/policies/domain`;
  const page = await get(browser, path);
  expect(page.status).toBe(200);
  expect(page.body).toContain('Only an instance administrator may change the domain policy');
  expect(page.body).toContain('<fieldset class="plain" disabled>');
  expect(page.body).not.toContain('>Save</button>');
  const csrf = formsOf(page).find((f) => f.fields._csrf)!.fields._csrf;
  const version = /name="version" value="([^"]*)"/.exec(page.body)?.[1] ?? '0';
  const forged = (await browser.navigate(new URL(path, w.issuer), { form: { _csrf: csrf, version, userLoginMustBeDomain: 'on' } })) as HttpResponse;
  expect(forged.status).toBe(404);
  const forgedReset = (await browser.navigate(new URL(`${path}/reset`, w.issuer), { form: { _csrf: csrf, version } })) as HttpResponse;
  expect(forgedReset.status).toBe(404);
  expect(await orgRows(org.id, 'domain')).toHaveLength(0);
  // The owner's own login policy is theirs to edit, with the live preview's script.
  const login = await get(browser, `/ui/console/orgs/${org.id}/policies/login`);
  expect(login.body).toContain('>Save</button>');
  expect(login.body).toContain('login-preview.js');

  // The instance administrator saves it for the org.
  const asAdmin = await get(admin, path);
  const saved = await submitPolicy(admin, asAdmin, { userLoginMustBeDomain: null, smtpSenderAddressMatchesInstanceDomain: null });
  expect(saved.body).toContain('The policy was saved.');
  expect((await orgRows(org.id, 'domain'))[0].settings).toEqual({
    userLoginMustBeDomain: false,
    validateOrgDomains: true,
    smtpSenderAddressMatchesInstanceDomain: false,
  });
});
