import type { Browser } from 'playwright-core';
import { loginWorld, type LoginWorld } from '../integration/login-support.js';
import { addHuman, addOrg } from '../support/rp.js';
import { launchChromium, newJourney } from './browser-support.js';
import { VirtualAuthenticator } from './virtual-authenticator.js';
import { setOrgPolicy } from '../../src/domain/policy/service.js';
import { builtInDefault } from '../../src/domain/policy/schemas.js';
import { listPasskeys } from '../../src/domain/passkey/queries.js';
import { removePasskey } from '../../src/domain/passkey/service.js';
import { newId } from '../../src/shared/ids.js';
import { eventually } from '../support/eventually.js';

/**
 * Passkeys in the login, in Chromium with its virtual authenticator (a platform authenticator
 * that verifies the user): passwordless sign-in, a passkey as the second factor, and the rules
 * a user can observe (another instance, a removed passkey). Instances live on *.localhost, which
 * browsers treat as a secure context, as WebAuthn requires.
 */
let w: LoginWorld;
let other: LoginWorld;
let browser: Browser;
beforeAll(async () => {
  [w, other, browser] = await Promise.all([
    loginWorld('Passkeys', {}, { tld: 'localhost' }),
    loginWorld('Elsewhere', {}, { tld: 'localhost' }),
    launchChromium(),
  ]);
}, 60_000);
afterAll(async () => {
  await browser?.close();
  await other?.close();
  await w?.close();
});

async function org(login: object = {}) {
  const domain = `p${newId()}.example`;
  const orgId = await addOrg(w.inst.scope, `Org ${domain}`, domain);
  await setOrgPolicy(w.sys(), orgId, 'login', { ...builtInDefault('login'), ...login });
  return { orgId, domain };
}

/** Chromium without conditional mediation: the button, not the autofill, runs the ceremony. */
const noAutofill = () => {
  Object.defineProperty(PublicKeyCredential, 'isConditionalMediationAvailable', { value: async () => false });
};

async function journey(name: string, opts: { autofill?: boolean; world?: LoginWorld } = {}) {
  const j = await newJourney(browser, opts.world ?? w, name);
  if (!opts.autofill) await j.context.addInitScript(noAutofill);
  const authenticator = await VirtualAuthenticator.attach(j.context, j.page);
  const returns = { count: 0, seen: 0 };
  j.page.on('request', (r) => {
    if (r.url().startsWith((opts.world ?? w).rp.redirectUri)) returns.count++;
  });
  return Object.assign(j, { authenticator, returns, redirectUri: (opts.world ?? w).rp.redirectUri });
}

async function passwordStep(j: Awaited<ReturnType<typeof journey>>, loginName: string, password: string) {
  await j.page.getByLabel('Login name or email').fill(loginName);
  await j.page.getByRole('button', { name: 'Next' }).click();
  await j.page.getByLabel('Password').fill(password);
  await j.page.getByRole('button', { name: 'Sign in', exact: true }).click();
}

/** Back at the application with a new code (the journey records every redirect to it). */
async function backAtApp(j: Awaited<ReturnType<typeof journey>>): Promise<void> {
  const count = await eventually(
    async () => j.returns.count,
    (n) => n > j.returns.seen,
    20_000,
  );
  if (count <= j.returns.seen) throw new Error(`not back at the application; at ${j.page.url()}`);
  j.returns.seen = count;
  // The request is out, the navigation may not be done. Playwright's route answers only the first
  // request of a redirect chain, so the app's address at the end of one goes to the network, where
  // nothing listens, and lands on Chromium's error page. Wait for that landing (as a failed
  // navigation, or the app's page), or the journey's next page.goto is interrupted by it.
  await j.page
    .waitForURL((url) => url.href.startsWith(j.redirectUri) || url.protocol === 'chrome-error:', { waitUntil: 'commit' })
    .catch((err: Error) => {
      if (!/net::ERR_/.test(err.message)) throw err;
    });
}

test('asked after a password sign-in, a user adds a passkey, then signs in with it alone', async () => {
  const o = await org({ promptPasskeyAfterPassword: true });
  const u = await addHuman(w.rt, w.inst.scope, o.orgId, { username: `pk${newId()}` });
  const j = await journey('passkey-passwordless');
  await j.start();
  await passwordStep(j, u.loginName, u.password);
  await j.page.getByRole('heading', { name: 'Sign in faster next time' }).waitFor();
  await j.page.getByLabel('Name for this passkey (optional)').fill('Laptop');
  await j.snap('prompt');
  await j.page.getByRole('button', { name: 'Add a passkey' }).click();
  await backAtApp(j);
  expect((await j.claims()).amr).toEqual(['pwd']);
  const [passkey] = await listPasskeys(w.sys(), u.userId);
  expect(passkey).toMatchObject({ name: 'Laptop', rpId: w.inst.domain });
  expect(await j.authenticator.credentials()).toHaveLength(1);

  // Signed out: the passkey alone signs in, no password typed.
  await j.context.clearCookies();
  await j.start();
  await j.snap('login-name-with-passkey');
  await j.page.getByRole('button', { name: 'Sign in with a passkey' }).click();
  await backAtApp(j);
  const claims = await j.claims();
  expect(claims.sub).toBe(u.userId);
  expect(claims.amr).toEqual(['user', 'mfa']);
  expect(j.consoleErrors).toEqual([]);
  await j.close();
}, 60_000);

test("the browser's autofill offers the passkey on the login name page", async () => {
  const o = await org({ promptPasskeyAfterPassword: true });
  const u = await addHuman(w.rt, w.inst.scope, o.orgId, { username: `af${newId()}` });
  const j = await journey('passkey-autofill', { autofill: true });
  await j.start();
  await passwordStep(j, u.loginName, u.password);
  await j.page.getByRole('button', { name: 'Add a passkey' }).click();
  await backAtApp(j);
  await j.context.clearCookies();
  // The virtual authenticator answers the autofill request as a user picking the suggestion would.
  await j.start();
  await backAtApp(j);
  expect((await j.claims()).amr).toEqual(['user', 'mfa']);
  await j.close();
}, 60_000);

test('a passkey as the second factor under forceMfa', async () => {
  const o = await org({ forceMfa: true, secondFactors: ['u2f'] });
  const u = await addHuman(w.rt, w.inst.scope, o.orgId, { username: `mfa${newId()}` });
  const j = await journey('passkey-second-factor');
  await j.start();
  await passwordStep(j, u.loginName, u.password);
  await j.page.getByRole('heading', { name: 'Add a passkey' }).waitFor();
  await j.snap('enrol');
  await j.page.getByRole('button', { name: 'Add a passkey' }).click();
  await backAtApp(j);
  expect((await j.claims()).amr).toEqual(['pwd', 'user', 'mfa']);

  await j.context.clearCookies();
  await j.start();
  await passwordStep(j, u.loginName, u.password);
  await j.page.getByRole('button', { name: 'Use your passkey' }).waitFor();
  await j.snap('second-factor');
  await j.page.getByRole('button', { name: 'Use your passkey' }).click();
  await backAtApp(j);
  expect((await j.claims()).amr).toEqual(['pwd', 'user', 'mfa']);
  await j.close();
}, 60_000);

test('a passkey of one instance is refused at another, and a removed passkey stops working', async () => {
  const o = await org({ promptPasskeyAfterPassword: true });
  const u = await addHuman(w.rt, w.inst.scope, o.orgId, { username: `iso${newId()}` });
  const j = await journey('passkey-refused');
  await j.start();
  await passwordStep(j, u.loginName, u.password);
  await j.page.getByRole('button', { name: 'Add a passkey' }).click();
  await backAtApp(j);
  const [credential] = await j.authenticator.credentials();

  // The same key, made to answer for the other instance's domain (as a copied key would):
  // that instance does not know it.
  const elsewhere = await journey('passkey-other-instance', { world: other });
  await elsewhere.authenticator.add({ ...credential, rpId: other.inst.domain });
  await elsewhere.start();
  await elsewhere.page.getByRole('button', { name: 'Sign in with a passkey' }).click();
  await elsewhere.page.getByText('The passkey was not accepted.').waitFor();
  await elsewhere.snap('refused');
  expect(elsewhere.callback()).toBeUndefined();
  await elsewhere.close();

  // Removed by an admin (a lost laptop): it no longer signs in.
  const [passkey] = await listPasskeys(w.sys(), u.userId);
  await removePasskey(w.sys(), u.userId, passkey.id);
  await j.context.clearCookies();
  await j.start();
  await j.page.getByRole('button', { name: 'Sign in with a passkey' }).click();
  await j.page.getByText('The passkey was not accepted.').waitFor();
  await j.snap('removed');
  await j.close();
}, 60_000);
