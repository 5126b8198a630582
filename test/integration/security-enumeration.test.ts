import { patchPolicy, setOrgPolicy } from '../../src/domain/policy/service.js';
import { newId } from '../../src/shared/ids.js';
import { addHuman, addOrg } from '../support/rp.js';
import { LoginSession, loginWorld, type LoginWorld } from './login-support.js';

/**
 * Under ignoreUnknownUsernames a login name that belongs to someone and one that does not must
 * look the same: the page that follows, the stylesheet it links, and the reset form's answer,
 * which must not wait on the mail server (the mail leaves through the outbox afterwards).
 */
let w: LoginWorld;
const orgs: Record<'acme' | 'quiet' | 'plain', { id: string; domain: string }> = {} as never;

beforeAll(async () => {
  w = await loginWorld('Enumeration');
  await patchPolicy(w.sys(), null, 'login', { ignoreUnknownUsernames: true });
  for (const name of ['acme', 'quiet', 'plain'] as const) {
    const domain = `${name}-${newId()}.test`;
    orgs[name] = { id: await addOrg(w.inst.scope, name, domain), domain };
  }
  // Acme and Quiet have a look of their own; Quiet's names discover nothing; Plain looks like the instance.
  await setOrgPolicy(w.sys(), orgs.acme.id, 'label', { primaryColor: '#aa0000' });
  await setOrgPolicy(w.sys(), orgs.quiet.id, 'label', { primaryColor: '#00aa00' });
  await setOrgPolicy(w.sys(), orgs.quiet.id, 'login', { allowDomainDiscovery: false, ignoreUnknownUsernames: true });
});
afterAll(() => w.close());

/** The page without what differs by construction: the interaction id, the CSRF token, the name typed. */
function normalized(s: LoginSession, typed: string): { status: number; body: string } {
  const uid = s.page.url.pathname.split('/')[3];
  const body = s.page.body
    .replaceAll(uid, 'UID')
    .replace(/name="csrf" value="[^"]*"/g, 'name="csrf" value="CSRF"')
    .replaceAll(typed, 'NAME');
  return { status: s.page.status, body };
}

async function afterLoginName(typed: string): Promise<LoginSession> {
  const s = await new LoginSession(w).start();
  return s.submit('/loginname', { loginName: typed });
}

const themeOf = (s: LoginSession) => /href="([^"]*theme\.css[^"]*)"/.exec(s.page.body)?.[1];

describe('the page after the login name', () => {
  test("a name in the domain of an org that discovery finds: a user's and nobody's get the same page", async () => {
    const known = await addHuman(w.rt, w.inst.scope, orgs.acme.id);
    const typedKnown = known.loginName;
    const typedUnknown = `nobody${newId()}@${orgs.acme.domain}`;
    const a = await afterLoginName(typedKnown);
    const b = await afterLoginName(typedUnknown);
    expect(a.page.body).toContain('name="password"');
    expect(normalized(a, typedKnown)).toEqual(normalized(b, typedUnknown));
    // It is the discovered org's look, for both.
    expect(themeOf(a)).toContain(orgs.acme.id);
    // The password still decides: the known user signs in, in the same session.
    await a.submit('/password', { password: known.password });
    expect((await a.tokens()).sub).toBe(known.userId);
  });

  test("a name whose org discovery does not find: the page does not take on the user's org's look", async () => {
    const known = await addHuman(w.rt, w.inst.scope, orgs.quiet.id);
    const typedUnknown = `nobody${newId()}@${orgs.quiet.domain}`;
    const a = await afterLoginName(known.loginName);
    const b = await afterLoginName(typedUnknown);
    expect(normalized(a, known.loginName)).toEqual(normalized(b, typedUnknown));
    expect(a.page.body).not.toContain(orgs.quiet.id);
    // A wrong password reads the same too.
    await a.submit('/password', { password: 'Wrong-Passw0rd!' });
    await b.submit('/password', { password: 'Wrong-Passw0rd!' });
    expect(normalized(a, known.loginName)).toEqual(normalized(b, typedUnknown));
  });

  test('the stylesheet path names no org that has no look of its own', async () => {
    const s = await afterLoginName(`nobody${newId()}@${orgs.plain.domain}`);
    expect(s.page.status).toBe(200);
    expect(themeOf(s)).toMatch(/\/branding\/instance\/theme\.css/);
    expect(s.page.body).not.toContain(orgs.plain.id);
  });
});

describe('the password reset form', () => {
  async function askReset(typed: string): Promise<LoginSession> {
    const s = await new LoginSession(w).start();
    await s.get(`${s.page.url.pathname}/reset`);
    return s.submit('/reset', { loginName: typed });
  }

  test('answers without waiting for the mail server, the same for a user and for nobody; the mail follows', async () => {
    const email = `reset${newId()}@mail.example`;
    const known = await addHuman(w.rt, w.inst.scope, w.inst.orgId, { email });
    const typedUnknown = `nobody${newId()}@${w.inst.domain}`;
    w.smtp.hold(); // the mail server takes connections but never greets: a hung SMTP server
    try {
      const a = await askReset(known.loginName);
      const b = await askReset(typedUnknown);
      expect(a.page.status).toBe(200);
      expect(normalized(a, known.loginName)).toEqual(normalized(b, typedUnknown));
      expect(w.smtp.mails.some((m) => m.to.includes(email))).toBe(false);
    } finally {
      w.smtp.release();
    }
    const mail = await w.smtp.waitFor(email);
    expect(mail.subject).toMatch(/password/i);
  });
});
