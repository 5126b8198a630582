import { loginWorld, LoginSession, type LoginWorld } from './login-support.js';
import { addHuman } from '../support/rp.js';
import { client, machineCaller } from './api-client.js';
import { createOrg } from '../../src/domain/org/service.js';
import { createHumanUser } from '../../src/domain/user/service.js';
import { setInstancePolicy } from '../../src/domain/policy/service.js';
import { getUser } from '../../src/domain/user/repository.js';
import { newId } from '../../src/shared/ids.js';

/**
 * The passwords attackers try first (Password1, Welcome1, Qwerty123: each meets the built-in
 * complexity rules) are refused wherever a password is set, with a message saying why.
 */
let w: LoginWorld;
let api: ReturnType<typeof client>;
let home: string;
beforeAll(async () => {
  w = await loginWorld('Breached');
  api = client(w.server.port, w.inst.domain, (await machineCaller(w.rt, w.inst, w.inst.orgId, [{ level: 'instance', roles: ['IAM_OWNER'] }])).token);
  home = (await w.inst.scope.table('org_domains').where({ org_id: w.inst.orgId, is_primary: true }).first()).domain;
});
afterAll(async () => {
  await w.close();
});

const breached = ['Password1', 'Welcome1', 'Qwerty123'];
const codeOf = (text: string) => /^\s{4}([A-Z2-9]{8})$/m.exec(text)![1];

describe('over the API', () => {
  test.each(breached)('%s is refused for a new user and as a new password, saying why', async (password) => {
    const created = await api.post('/management/v1/users/human', { username: `u${newId()}`, email: `u${newId()}@example.com`, password });
    expect(created).toMatchObject({ status: 422, body: { code: 'password.complexity', details: { rules: ['breached'] } } });
    expect(created.body.detail).toMatch(/most often found in data breaches/);

    const { id } = (await api.post('/management/v1/users/human', { username: `u${newId()}`, email: `u${newId()}@example.com`, password: 'Quiet-Otter-77' }))
      .body;
    const set = await api.put(`/management/v1/users/${id}/password`, { password });
    expect(set).toMatchObject({ status: 422, body: { code: 'password.complexity', details: { rules: ['breached'] } } });
  });

  test('the check is a password complexity policy option, on by default; an org may turn it off', async () => {
    expect((await api.get('/admin/v1/policies/password_complexity')).body.settings.refuseBreachedPasswords).toBe(true);
    const org = (await createOrg(w.sys(), { name: `Lax ${newId()}` })).id;
    const lax = client(w.server.port, w.inst.domain, (await machineCaller(w.rt, w.inst, org, [{ level: 'org', roles: ['ORG_OWNER'] }])).token);
    expect((await lax.patch('/management/v1/policies/password_complexity', { refuseBreachedPasswords: false })).status).toBe(200);
    expect((await lax.post('/management/v1/users/human', { username: `u${newId()}`, email: `u${newId()}@example.com`, password: 'Password1' })).status).toBe(
      201,
    );
  });
});

describe('on the login pages', () => {
  test("registration refuses Password1 with the reason, in the page's language", async () => {
    await setInstancePolicy(w.sys(), 'login', { allowRegister: true });
    try {
      for (const [locale, message] of [
        ['en', 'This password is one of the most common in data breaches. Choose another.'],
        ['de', 'Dieses Passwort gehört zu den häufigsten aus Datenlecks. Wähle ein anderes.'],
      ]) {
        const s = await new LoginSession(w).start({ ui_locales: locale });
        await s.get(`${s.page.url.pathname}/register`);
        const email = `reg${newId()}@mail.example`;
        await s.submit('/register', { givenName: 'B', familyName: 'R', email, username: `b${newId()}`, password: 'Password1', passwordConfirm: 'Password1' });
        expect(s.page.status).toBe(400);
        expect(s.page.body).toContain(message);
        expect(await w.inst.scope.table('users').where({ email }).first()).toBeUndefined();
      }
    } finally {
      await setInstancePolicy(w.sys(), 'login', {});
    }
  });

  test('a password reset refuses Welcome1 and keeps the code for a better password', async () => {
    const u = await addHuman(w.rt, w.inst.scope, w.inst.orgId, { username: `r${newId()}`, email: `reset${newId()}@mail.example` });
    const s = await new LoginSession(w).start();
    await s.get(`${s.page.url.pathname}/reset`);
    await s.submit('/reset', { loginName: `${u.username}@${home}` });
    const code = codeOf((await w.smtp.waitFor((await getUser(w.inst.scope, u.userId))!.email!)).text);
    await s.submit('/reset/confirm', { code, password: 'Welcome1' });
    expect(s.page.status).toBe(400);
    expect(s.page.body).toContain('This password is one of the most common in data breaches.');
    await s.submit('/reset/confirm', { code, password: 'Quiet-Otter-77' });
    expect(s.page.body).toContain('Your password was changed');
  });

  test('the initial password from the invitation mail refuses Qwerty123', async () => {
    const email = `invited${newId()}@mail.example`;
    const { id } = await createHumanUser(w.sys(), { orgId: w.inst.orgId, username: `inv${newId()}`, email });
    await w.notifier.initialPassword(w.inst.scope, id, w.issuer);
    const link = new URL(/(http:\/\/\S+\/ui\/login\/init\?\S+)/.exec((await w.smtp.waitFor(email)).text)![1]);
    const s = new LoginSession(w);
    const form = (password: string) => ({ form: { user: id, code: link.searchParams.get('code')!, password, passwordConfirm: password } });
    const refused = await s.browser.request(new URL('/ui/login/init', link), form('Qwerty123'));
    expect(refused.status).toBe(400);
    expect(refused.body).toContain('This password is one of the most common in data breaches.');
    expect((await getUser(w.inst.scope, id))!.state).toBe('initial');
    expect((await s.browser.request(new URL('/ui/login/init', link), form('Quiet-Otter-77'))).status).toBe(200);
  });
});
