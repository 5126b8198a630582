import { patchPolicy } from '../../src/domain/policy/service.js';
import { newId } from '../../src/shared/ids.js';
import { addHuman } from '../support/rp.js';
import { LoginSession, loginWorld, type LoginWorld } from './login-support.js';

/**
 * Self-registration with an address that belongs to another user is refused, saying no more than
 * the login policy allows: plainly by default; under ignoreUnknownUsernames the page reads as a
 * registration that went through, nothing is created, and the owner gets no mail.
 */
let w: LoginWorld;
let victim: string;

beforeAll(async () => {
  w = await loginWorld('Registration');
  await patchPolicy(w.sys(), null, 'login', { allowRegister: true });
  victim = `owner${newId()}@mail.example`;
  await addHuman(w.rt, w.inst.scope, w.inst.orgId, { email: victim });
});
afterAll(() => w.close());

async function register(email: string): Promise<LoginSession> {
  const s = await new LoginSession(w).start();
  await s.get(`${s.page.url.pathname}/register`);
  const password = 'Good-Passw0rd';
  return s.submit('/register', { givenName: 'Eve', familyName: 'Taker', email, username: `eve${newId()}`, password, passwordConfirm: password });
}

const usersWithEmail = async (email: string) => (await w.inst.scope.table('users').whereRaw('lower(email) = lower(?)', [email]).count({ n: '*' }))[0].n;

/** No mail to `to` went out: a later mail through the same outbox has arrived, and it is sent in order. */
async function noMailTo(to: string): Promise<void> {
  const later = await register(`later${newId()}@mail.example`);
  expect(later.page.status).toBe(200);
  await w.smtp.waitFor(later.page.body.match(/later\d+@mail\.example/)![0]);
  expect(w.smtp.mails.filter((m) => m.to.includes(to))).toHaveLength(0);
}

test('by default the address is refused as taken; nothing is created and the owner gets no mail', async () => {
  const s = await register(victim.toUpperCase());
  expect(s.page.status).toBe(400);
  expect(s.page.body).toContain('This email address cannot be used');
  expect(Number(await usersWithEmail(victim))).toBe(1);
  await noMailTo(victim);
});

test('under ignoreUnknownUsernames the page reads as for a new address; no account, no mail, and no code works', async () => {
  await patchPolicy(w.sys(), null, 'login', { ignoreUnknownUsernames: true });
  try {
    const taken = await register(victim);
    const fresh = `fresh${newId()}@mail.example`;
    const ok = await register(fresh);
    const norm = (s: LoginSession, email: string) => ({
      status: s.page.status,
      body: s.page.body
        .replaceAll(s.page.url.pathname.split('/')[3], 'UID')
        .replace(/name="csrf" value="[^"]*"/g, '')
        .replaceAll(email, 'EMAIL'),
    });
    expect(norm(taken, victim)).toEqual(norm(ok, fresh));
    expect(Number(await usersWithEmail(victim))).toBe(1);
    await taken.submit('/verify', { code: 'ABCDEFGH' });
    expect(taken.page.status).toBe(400);
    expect(taken.page.body).toContain('The code is wrong or has expired.');
    await noMailTo(victim);
  } finally {
    await patchPolicy(w.sys(), null, 'login', { ignoreUnknownUsernames: false });
  }
});
