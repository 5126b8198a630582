import { decodeJwt } from 'jose';
import { newId } from '../../src/shared/ids.js';
import { MailCatcher } from '../browser/mail-catcher.js';
import { addOrg, client, type HttpResponse } from '../support/rp.js';
import { consolePage, consoleSignIn, manager, postAsBrowser } from './console-support.js';
import { loginWorld, LoginSession, type LoginWorld } from './login-support.js';

/**
 * The instance settings page over HTTP, through its forms as an instance admin uses them: the
 * name, token lifetimes that change the tokens actually issued next, the SMTP server (a
 * write-only password that keeps working when left empty) with "send a test mail" caught by an
 * in-process SMTP server that checks the credentials. And nothing of it for an org owner: every
 * instance page and every forged POST is the console's 404, and nothing changes.
 */
let w: LoginWorld;
let relay: MailCatcher;
const relayAuth = { user: 'relay-user', pass: `relay-${newId()}-pw` };
beforeAll(async () => {
  w = await loginWorld('ConsoleInstance');
  relay = await new MailCatcher(relayAuth).start();
});
afterAll(async () => {
  await w?.close();
  await relay?.close();
});

const settings = '/ui/console/instance/settings';
const status = (page: HttpResponse) => /role="status">([^<]*)</.exec(page.body)?.[1].trim();
const alert = (page: HttpResponse) => /role="alert">([\s\S]*?)<\/p>/.exec(page.body)?.[1].trim();

async function admin() {
  return (await consoleSignIn(w, w.inst.adminLoginName, w.inst.adminPassword)).browser;
}

/** A login to the test app as the admin: the token response and the ID token's claims. */
async function issuedTokens() {
  const s = await new LoginSession(w).start();
  await s.password(w.inst.adminLoginName, w.inst.adminPassword);
  if (!s.callback) throw new Error(`no callback: ${s.page.status} ${s.page.body.slice(0, 400)}`);
  const tokens = await client.authorizationCodeGrant(w.config, s.callback, { pkceCodeVerifier: s.codeVerifier, expectedState: s.state });
  return { expiresIn: tokens.expires_in, id: tokens.claims()!, access: tokens.access_token };
}

test('renaming the instance: an empty name is refused on its field, a real one is saved and shown', async () => {
  const browser = await admin();
  const page = await consolePage(browser, w, settings);
  expect(page.status).toBe(200);
  const bad = await postAsBrowser(browser, page, `${settings}/name`, { name: ' ' });
  expect(bad.status).toBe(400);
  expect(bad.body).toMatch(/id="f-instance-name"[^>]*aria-invalid="true"/);
  expect(bad.body).toContain('Please fill this in.');
  const ok = await postAsBrowser(browser, page, `${settings}/name`, { name: 'Renamed Instance' });
  expect(status(ok)).toBe('The settings were saved.');
  expect(ok.body).toMatch(/id="f-instance-name"[^>]*value="Renamed Instance"/);
  // The form showed an older version of the instance: refused, the name stays.
  const stale = await postAsBrowser(browser, page, `${settings}/name`, { name: 'Stale Name' });
  expect(stale.status).toBe(409);
  expect(stale.body).toContain('Someone else changed this in the meantime');
  expect((await consolePage(browser, w, settings)).body).toMatch(/id="f-instance-name"[^>]*value="Renamed Instance"/);
});

test('token lifetimes set in the console are the lifetimes of the next tokens issued', async () => {
  const before = await issuedTokens();
  expect(before.expiresIn).not.toBe(1800);
  const browser = await admin();
  const page = await consolePage(browser, w, settings);
  const bad = await postAsBrowser(browser, page, `${settings}/tokens`, {
    accessTokenLifetimeS: '1.5',
    refreshTokenIdleS: '7200',
    refreshTokenAbsoluteS: '3600',
  });
  expect(bad.status).toBe(400);
  expect(bad.body).toMatch(/id="f-tokens-accessTokenLifetimeS"[^>]*aria-invalid="true"/);
  expect(bad.body).toContain('Please enter a whole number.');
  expect(bad.body).toContain('value="1.5"');
  const unordered = await postAsBrowser(browser, page, `${settings}/tokens`, { refreshTokenIdleS: '7200', refreshTokenAbsoluteS: '3600' });
  expect(unordered.status).toBe(400);
  expect(unordered.body).toMatch(/id="f-tokens-refreshTokenIdleS"[^>]*aria-invalid="true"/);

  const ok = await postAsBrowser(browser, page, `${settings}/tokens`, { accessTokenLifetimeS: '1800', idTokenLifetimeS: '600' });
  expect(status(ok)).toBe('The settings were saved.');
  expect(ok.body).toMatch(/id="f-tokens-accessTokenLifetimeS"[^>]*value="1800"/);
  const after = await issuedTokens();
  expect(after.expiresIn).toBe(1800);
  expect(after.id.exp - after.id.iat).toBe(600);
  // A JWT access token carries the same lifetime; an opaque one is checked by expires_in above.
  if (after.access.split('.').length === 3) {
    const claims = decodeJwt(after.access);
    expect(claims.exp! - claims.iat!).toBe(1800);
  }
});

test('SMTP: the password is write-only and kept when left empty; the test mail goes through the saved server', async () => {
  const browser = await admin();
  const page = await consolePage(browser, w, settings);
  expect(page.body).toContain('No password is stored.');

  // Bad input: messages on the fields, the values typed back, but never the password.
  const bad = await postAsBrowser(browser, page, `${settings}/smtp`, { port: '70000', fromAddress: 'not-an-address', password: relayAuth.pass });
  expect(bad.status).toBe(400);
  expect(bad.body).toMatch(/id="f-smtp-port"[^>]*aria-invalid="true"/);
  expect(bad.body).toContain('Please enter an email address like name@example.com.');
  expect(bad.body).toContain('value="not-an-address"');
  expect(bad.body).not.toContain(relayAuth.pass);

  const fields = { host: '127.0.0.1', port: String(relay.port), user: relayAuth.user, fromAddress: `ops@${w.inst.domain}`, fromName: 'Ops', tls: null };
  const saved = await postAsBrowser(browser, page, `${settings}/smtp`, { ...fields, password: relayAuth.pass });
  expect(status(saved)).toBe('The settings were saved.');
  expect(saved.body).not.toContain(relayAuth.pass);
  expect(saved.body).toContain('A password is stored. Leave empty to keep it.');
  expect(saved.body).toMatch(/id="f-smtp-password"[^>]*value=""/);

  const to = `ops${newId()}@example.com`;
  const sent = await postAsBrowser(browser, saved, `${settings}/smtp/test`, { to });
  expect(sent.status).toBe(200);
  expect(sent.body).toContain(`The test mail to ${to} was accepted by the server`);
  expect((await relay.waitFor(to)).subject).toBe('Tessera SMTP test');

  // Saved again with the password left empty: it stays, and the relay still takes the login.
  const again = await postAsBrowser(browser, sent, `${settings}/smtp`, { ...fields, fromName: 'Ops Team', password: '' });
  expect(status(again)).toBe('The settings were saved.');
  const to2 = `ops${newId()}@example.com`;
  expect((await postAsBrowser(browser, again, `${settings}/smtp/test`, { to: to2 })).body).toContain(`The test mail to ${to2} was accepted`);
  expect((await relay.waitFor(to2)).from).toBe(`ops@${w.inst.domain}`);

  // A wrong password: the server's refusal is what the admin sees.
  const wrong = await postAsBrowser(browser, again, `${settings}/smtp`, { ...fields, password: 'not-the-password' });
  expect(status(wrong)).toBe('The settings were saved.');
  const refused = await postAsBrowser(browser, wrong, `${settings}/smtp/test`, { to: to2 });
  expect(refused.status).toBe(502);
  expect(alert(refused)).toContain('The test mail was not sent. The server said:');
  expect(alert(refused)).toContain('535');
  expect(refused.body).not.toContain('not-the-password');

  // "Remove the stored password": the page says none is stored.
  const cleared = await postAsBrowser(browser, refused, `${settings}/smtp`, { ...fields, clearPassword: 'on' });
  expect(cleared.body).toContain('No password is stored.');
  // Back to the world's catcher, for the other tests' mails.
  await postAsBrowser(browser, cleared, `${settings}/smtp`, { ...fields, user: '', port: String(w.smtp.port) });
});

test('an org owner gets the 404 page for every instance page and every forged POST; nothing changes', async () => {
  const domain = `own${newId()}.example`;
  const orgId = await addOrg(w.inst.scope, `Org ${domain}`, domain);
  const m = await manager(w.sys(), orgId, `owner${newId()}`, domain, ['ORG_OWNER']);
  const { browser } = await consoleSignIn(w, m.loginName, m.password);
  const own = await consolePage(browser, w, `/ui/console/orgs/${orgId}/settings`);
  expect(own.status).toBe(200);
  expect(own.body).not.toContain('href="/ui/console/instance"');
  const csrf = /name="_csrf" value="([^"]+)"/.exec(own.body)![1];

  const adminBrowser = await admin();
  const before = await consolePage(adminBrowser, w, settings);
  const membership = /href="\/ui\/console\/instance\/managers\/(\d+)"/.exec((await consolePage(adminBrowser, w, '/ui/console/instance/managers')).body)![1];
  const i = '/ui/console/instance';
  const pages = [
    i,
    `${i}/settings`,
    `${i}/domains`,
    `${i}/orgs`,
    `${i}/orgs/${orgId}/delete`,
    `${i}/managers`,
    `${i}/managers/${membership}`,
    `${i}/policies`,
    ...['login', 'password_complexity', 'lockout', 'domain', 'notification'].map((k) => `${i}/policies/${k}`),
    `${i}/policies/login/preview`,
    `${i}/branding`,
    `${i}/branding/mail-preview`,
    `${i}/idps`,
    `${i}/idps/new`,
  ];
  for (const path of pages) {
    const res = await consolePage(browser, w, path);
    expect([path, res.status, res.body.includes('Page not found')]).toEqual([path, 404, true]);
  }
  const forged: [string, Record<string, string>][] = [
    [`${i}/settings/name`, { name: 'Taken Over', version: '99' }],
    [
      `${i}/settings/tokens`,
      { accessTokenLifetimeS: '99999', idTokenLifetimeS: '600', refreshTokenIdleS: '600', refreshTokenAbsoluteS: '6000', refreshTokenReuseGraceS: '0' },
    ],
    [`${i}/settings/smtp`, { host: 'evil.example', port: '25', fromAddress: 'x@evil.example' }],
    [`${i}/settings/smtp/test`, { to: 'x@evil.example' }],
    [`${i}/orgs`, { name: 'Forged Org' }],
    [`${i}/orgs/${orgId}/deactivate`, {}],
    [`${i}/orgs/${orgId}/delete`, {}],
    [`${i}/managers`, { user: m.loginName, roles: 'IAM_OWNER' }],
    [`${i}/managers/${membership}`, { roles: 'IAM_OWNER_VIEWER' }],
    [`${i}/managers/${membership}/remove`, {}],
    [`${i}/policies/lockout`, { maxPasswordAttempts: '1' }],
    [`${i}/policies/lockout/reset`, {}],
    [`${i}/branding`, { primaryColor: '#ff0000' }],
    [`${i}/idps`, { name: 'Evil', issuer: 'https://evil.example', clientId: 'x', autoLinking: 'none' }],
  ];
  for (const [path, form] of forged) {
    const res = await browser.request(new URL(path, w.issuer), { form: { _csrf: csrf, ...form } });
    expect([path, res.status]).toEqual([path, 404]);
  }
  // Nothing changed: the settings page, the org list and the managers are as they were.
  const after = await consolePage(adminBrowser, w, settings);
  const formValues = (p: HttpResponse) => [...p.body.matchAll(/<input [^>]*name="(?!_csrf)[^"]*"[^>]*>/g)].map((x) => x[0]).join('\n');
  expect(formValues(after)).toBe(formValues(before));
  const orgs = await consolePage(adminBrowser, w, `/ui/console/instance/orgs?q=${encodeURIComponent(domain)}`);
  expect(orgs.body).toMatch(/Deactivate[^<]*<span class="visually-hidden"> Org /);
  expect((await consolePage(adminBrowser, w, '/ui/console/instance/orgs?q=Forged')).body).not.toContain('Forged Org');
  expect((await consolePage(adminBrowser, w, '/ui/console/instance/managers')).body).not.toContain(m.loginName);
  expect((await consolePage(adminBrowser, w, '/ui/console/instance/idps')).body).not.toContain('Evil');
});

test('the SMS provider: a bad URL is refused on its field; a webhook URL is saved and its signing key shown once, then removed', async () => {
  const browser = await admin();
  const page = await consolePage(browser, w, settings);
  expect(page.body).toContain('SMS provider (HTTP webhook)');
  const bad = await postAsBrowser(browser, page, `${settings}/sms`, { endpoint: 'not a url', description: '' });
  expect(bad.status).toBe(400);
  expect(bad.body).toMatch(/id="f-sms-endpoint"[^>]*aria-invalid="true"/);

  const endpoint = 'https://sms-gateway.example/send';
  const saved = await postAsBrowser(browser, page, `${settings}/sms`, { endpoint, description: 'Gateway' });
  expect(saved.status).toBe(200);
  const key = /<code class="secret">([^<]+)<\/code>/.exec(saved.body)?.[1];
  expect(key?.length).toBeGreaterThanOrEqual(40);
  const again = await consolePage(browser, w, settings);
  expect(again.body).toMatch(/id="f-sms-endpoint"[^>]*value="https:\/\/sms-gateway.example\/send"/);
  expect(again.body).not.toContain(key!);

  const removed = await postAsBrowser(browser, again, `${settings}/sms/remove`, {});
  expect(status(removed)).toBe('The SMS provider is removed; phone numbers stay unverified.');
  expect(removed.body).not.toContain('sms-gateway.example');
});
