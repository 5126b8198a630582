import net from 'node:net';
import { newId } from '../../src/shared/ids.js';
import { startUpstream, type Upstream } from '../browser/upstream.js';
import { addOrg, type HttpResponse } from '../support/rp.js';
import { consolePage, consoleSignIn, manager, postAsBrowser } from './console-support.js';
import { loginWorld, LoginSession, type LoginWorld } from './login-support.js';

/**
 * The console's identity provider pages over HTTP, as an admin uses them through the forms: an
 * OIDC IdP added against a real second oidc-provider, tested (found, then an issuer that does not
 * answer), offered by the login policy and used on the login page, edited, removed. The client
 * secret is write-only: no page ever shows it, and left empty it stays (the upstream checks it).
 */
let w: LoginWorld;
let up: Upstream;
beforeAll(async () => {
  w = await loginWorld('ConsoleIdps');
  up = await startUpstream([`http://${w.inst.domain}:${w.server.port}/ui/login/idp/callback`]);
});
afterAll(async () => {
  await up?.close();
  await w?.close();
});

/** An address where nothing listens (a port just freed). */
async function deadIssuer(): Promise<{ issuer: string; port: number }> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return { issuer: `http://127.0.0.1:${port}/nothing`, port };
}

const status = (page: HttpResponse) => /role="status">([^<]*)</.exec(page.body)?.[1].trim();

/** The org's login page as its users meet it. */
async function loginPage(orgId: string): Promise<LoginSession> {
  return new LoginSession(w).start({}, `openid urn:zitadel:iam:org:id:${orgId}`);
}

/** Through the upstream's own login and consent pages as `sub`, back to Tessera. */
async function upstreamLogin(s: LoginSession, sub: string): Promise<LoginSession> {
  if (s.page.url.origin !== up.issuer) throw new Error(`not at the upstream: ${s.page.status} ${s.page.url} ${s.page.body.slice(0, 800)}`);
  await s.submitFirst({ login: sub });
  if (!s.callback && s.page.url.origin === up.issuer) await s.submitFirst();
  return s;
}

test('an OIDC IdP is added, tested, offered on the login page, used, edited and removed; its secret never shows', async () => {
  const domain = `idp${newId()}.example`;
  const orgId = await addOrg(w.inst.scope, `Org ${domain}`, domain);
  const base = `/ui/console/orgs/${orgId}/idps`;
  const { browser } = await consoleSignIn(w, w.inst.adminLoginName, w.inst.adminPassword);

  // Bad input: one message per field, what was typed comes back, but never the secret.
  const form = await consolePage(browser, w, `${base}/new`);
  expect(form.status).toBe(200);
  const bad = await postAsBrowser(browser, form, base, { name: '', issuer: 'not a url', clientId: up.clientId, clientSecret: 'typed-secret-7c1d' });
  expect(bad.status).toBe(400);
  expect(bad.body).toMatch(/id="f-idp-name"[^>]*aria-invalid="true"/);
  expect(bad.body).toMatch(/id="f-idp-issuer"[^>]*aria-invalid="true"/);
  expect(bad.body).toContain('Please fill this in.');
  expect(bad.body).toContain('Please enter an http(s) address');
  expect(bad.body).toContain(`value="${up.clientId}"`);
  expect(bad.body).toContain('value="not a url"');
  expect(bad.body).not.toContain('typed-secret-7c1d');
  expect((await consolePage(browser, w, base)).body).toContain('No identity providers yet.');

  const added = await postAsBrowser(browser, bad, base, {
    name: 'Upstream Corp',
    issuer: up.issuer,
    clientId: up.clientId,
    clientSecret: up.clientSecret,
    isCreationAllowed: 'on',
    isAutoCreation: 'on',
  });
  expect(added.status).toBe(200);
  expect(status(added)).toBe('The identity provider Upstream Corp was added.');
  expect(added.body).not.toContain(up.clientSecret);
  const idpPath = added.url.pathname;
  const idpId = idpPath.split('/').pop()!;
  expect((await consolePage(browser, w, base)).body).toContain('Upstream Corp');

  // "Test": the discovery document, as a login would fetch it.
  const found = await postAsBrowser(browser, added, `${idpPath}/test`);
  expect(found.status).toBe(200);
  expect(found.body).toContain('The provider answered: its discovery document names this issuer.');
  expect(found.body).toContain(`<code>${up.issuer}</code>`);
  expect(found.body).toContain(`${up.issuer}/token`);
  expect(found.body).not.toContain(up.clientSecret);

  // Edited to an issuer that does not answer (the secret left empty): saved, and the test says why it fails.
  const nowhere = await deadIssuer();
  const dead = await postAsBrowser(browser, found, idpPath, { issuer: nowhere.issuer, clientSecret: '' });
  expect(status(dead)).toBe('The identity provider was saved.');
  expect(dead.body).toContain(`value="${nowhere.issuer}"`);
  const failed = await postAsBrowser(browser, dead, `${idpPath}/test`);
  expect(failed.body).toContain(`The discovery failed: <code>${nowhere.issuer} could not be reached: connect ECONNREFUSED 127.0.0.1:${nowhere.port}</code>`);
  expect(failed.body).not.toContain('The provider answered');

  // A bad edit comes back with its messages; a new secret typed there is not echoed, nor saved.
  const badEdit = await postAsBrowser(browser, failed, idpPath, { name: '', clientSecret: 'another-secret-9f2e' });
  expect(badEdit.status).toBe(400);
  expect(badEdit.body).toMatch(/id="f-idp-name"[^>]*aria-invalid="true"/);
  expect(badEdit.body).not.toContain('another-secret-9f2e');
  const back = await postAsBrowser(browser, await consolePage(browser, w, idpPath), idpPath, { issuer: up.issuer, clientSecret: '' });
  expect(status(back)).toBe('The identity provider was saved.');

  // Not offered until the login policy says so; then a button on the org's login page.
  expect((await loginPage(orgId)).page.body).not.toContain('Continue with Upstream Corp');
  const policyPage = await consolePage(browser, w, `/ui/console/orgs/${orgId}/policies/login`);
  expect(policyPage.body).toContain('Upstream Corp');
  const saved = await postAsBrowser(browser, policyPage, `/ui/console/orgs/${orgId}/policies/login`, { allowExternalIdp: 'on', idpIds: [idpId] });
  expect(status(saved)).toBe('The policy was saved.');
  const s = await loginPage(orgId);
  expect(s.page.body).toContain('Continue with Upstream Corp');

  // The button works end to end, with the secret kept through the edits (the upstream checks it at its token endpoint).
  const sub = `ext-${newId()}`;
  up.accounts.set(sub, { email: `jit${newId()}@${domain}`, email_verified: true, given_name: 'Jit', family_name: 'User' });
  await s.get(`${s.page.url.pathname}/idp/${idpId}`);
  await upstreamLogin(s, sub);
  const claims = await s.tokens();
  expect(claims.sub).toBeTruthy();
  expect((await consolePage(browser, w, idpPath)).body).toContain('1 linked users');

  // Removing it says what goes, then the login page no longer offers it.
  const confirm = await consolePage(browser, w, `${idpPath}/remove`);
  expect(confirm.body).toContain('the links of 1 users');
  const removed = await postAsBrowser(browser, confirm, `${idpPath}/remove`);
  expect(status(removed)).toBe('The identity provider Upstream Corp was removed.');
  expect(removed.url.pathname).toBe(base);
  expect(removed.body).toContain('No identity providers yet.');
  expect((await consolePage(browser, w, idpPath)).status).toBe(404);
  expect((await loginPage(orgId)).page.body).not.toContain('Continue with Upstream Corp');
}, 120_000);

test('the instance IdP pages work the same, and a forged test or edit by an org owner is a 404', async () => {
  const { browser } = await consoleSignIn(w, w.inst.adminLoginName, w.inst.adminPassword);
  const base = '/ui/console/instance/idps';
  const added = await postAsBrowser(browser, await consolePage(browser, w, `${base}/new`), base, {
    name: 'Instance Upstream',
    issuer: up.issuer,
    clientId: up.clientId,
    clientSecret: up.clientSecret,
  });
  expect(status(added)).toBe('The identity provider Instance Upstream was added.');
  expect(added.body).not.toContain(up.clientSecret);
  const idpPath = added.url.pathname;
  expect((await postAsBrowser(browser, added, `${idpPath}/test`)).body).toContain('The provider answered');

  // An org owner, with a valid CSRF token of their own session, reaches none of it.
  const domain = `own${newId()}.example`;
  const orgId = await addOrg(w.inst.scope, `Org ${domain}`, domain);
  const m = await manager(w.sys(), orgId, `owner${newId()}`, domain, ['ORG_OWNER']);
  const own = await consoleSignIn(w, m.loginName, m.password);
  const csrf = /name="_csrf" value="([^"]+)"/.exec((await consolePage(own.browser, w, `/ui/console/orgs/${orgId}/idps/new`)).body)![1];
  for (const path of [base, `${base}/new`, idpPath, `${idpPath}/remove`]) expect([path, (await consolePage(own.browser, w, path)).status]).toEqual([path, 404]);
  for (const [path, form] of [
    [`${idpPath}/test`, {}],
    [idpPath, { name: 'Hijacked', issuer: 'https://evil.example', clientId: 'x', autoLinking: 'none', version: '1' }],
    [`${idpPath}/remove`, { version: '1' }],
    [`${idpPath}/deactivate`, { version: '1' }],
  ] as const) {
    const res = await own.browser.request(new URL(path, w.issuer), { form: { _csrf: csrf, ...form } });
    expect([path, res.status]).toEqual([path, 404]);
  }
  const still = await consolePage(browser, w, idpPath);
  expect(still.body).toContain('<h1>Instance Upstream</h1>');
  expect(still.body).toContain(`value="${up.issuer}"`);
}, 120_000);
