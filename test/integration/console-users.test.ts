import { createHumanUser, createMachineUser, lockUser } from '../../src/domain/user/service.js';
import { newId } from '../../src/shared/ids.js';
import { addOrg, type Browser, type HttpResponse } from '../support/rp.js';
import { loginWorld, type LoginWorld } from './login-support.js';
import { consoleSignIn, submitConsoleForm } from './console-support.js';

/** The console's user search over HTTP: by login name, email, name and state, paged and sorted in the database. */
let w: LoginWorld;
let browser: Browser;
let orgId: string;
let domain: string;
beforeAll(async () => {
  w = await loginWorld('Finders');
  domain = `finders${newId()}.example`;
  orgId = await addOrg(w.inst.scope, 'Finders', domain);
  const sys = w.sys();
  await createHumanUser(sys, { orgId, username: 'ada', email: 'ada@mail.example', givenName: 'Ada', familyName: 'Lovelace' });
  await createHumanUser(sys, {
    orgId,
    username: 'grace',
    email: 'g.hopper@navy.example',
    givenName: 'Grace',
    familyName: 'Hopper',
    displayName: 'Amazing Grace',
  });
  await createMachineUser(sys, { orgId, username: 'cron', name: 'Nightly export' });
  for (let i = 1; i <= 24; i++) {
    const n = String(i).padStart(2, '0');
    const { id } = await createHumanUser(sys, { orgId, username: `filler-${n}`, email: `filler-${n}@fill.example` });
    if (i === 7) await lockUser(sys, id);
  }
  ({ browser } = await consoleSignIn(w, w.inst.adminLoginName, w.inst.adminPassword));
}, 120_000);
afterAll(() => w.close());

async function list(query: string): Promise<{ names: string[]; summary: string }> {
  const page = (await browser.navigate(new URL(`/ui/console/orgs/${orgId}/users?${query}`, w.issuer))) as HttpResponse;
  expect(page.status).toBe(200);
  const names = [...page.body.matchAll(/<a href="\/ui\/console\/orgs\/\d+\/users\/\d+">([^<]+)<\/a>/g)].map((m) => m[1]);
  const summary = /(\d+ in all · page \d+ of \d+)/.exec(page.body)?.[1] ?? '';
  return { names, summary };
}

test('finds users by name, email and login name, case-insensitively, with their login names', async () => {
  expect((await list('q=lovelace')).names).toEqual([`ada@${domain}`]);
  expect((await list('q=Navy')).names).toEqual([`grace@${domain}`]);
  expect((await list('q=amazing')).names).toEqual([`grace@${domain}`]);
  expect((await list('q=nightly')).names).toEqual([`cron@${domain}`]);
  // Only the login name has this: the email is of another domain.
  expect((await list(`q=${encodeURIComponent(`ADA@${domain.toUpperCase()}`)}`)).names).toEqual([`ada@${domain}`]);
  // The search's own wildcards are plain characters.
  expect((await list('q=filler_0')).names).toEqual([]);
  expect((await list('q=nobody-has-this')).summary).toBe('0 in all · page 1 of 1');
});

test('filters by state and type, pages and sorts', async () => {
  expect((await list('state=locked')).names).toEqual([`filler-07@${domain}`]);
  expect((await list('type=machine')).names).toEqual([`cron@${domain}`]);
  const second = await list('q=filler&size=10&page=2&sort=username&dir=desc');
  expect(second.summary).toBe('24 in all · page 2 of 3');
  expect(second.names).toEqual(['14', '13', '12', '11', '10', '09', '08', '07', '06', '05'].map((n) => `filler-${n}@${domain}`));
  const byEmail = await list('size=10&sort=email&dir=asc');
  expect(byEmail.summary).toBe('27 in all · page 1 of 3');
  expect(byEmail.names.slice(0, 2)).toEqual([`ada@${domain}`, `filler-01@${domain}`]);
});

test("a user's page lists the authenticator and passkeys; a manager removes a passkey, resets the authenticator, locks and unlocks", async () => {
  const { id } = await createHumanUser(w.sys(), { orgId, username: `keys${newId()}`, email: 'keys@example.com', password: 'Keys-Passw0rd!' });
  const row = { instance_id: w.inst.instanceId, user_id: id, public_key: Buffer.from([1, 2, 3]), rp_id: w.inst.domain };
  await w.rt.db.knex('user_passkeys').insert([
    { ...row, id: newId(), credential_id: `cred-${newId()}`, name: 'YubiKey' },
    { ...row, id: newId(), credential_id: `cred-${newId()}`, name: 'Laptop' },
  ]);
  await w.rt.db.knex('user_totp').insert({ instance_id: w.inst.instanceId, user_id: id, secret_enc: 'x', verified: true });
  const url = new URL(`/ui/console/orgs/${orgId}/users/${id}`, w.issuer);
  let page = (await browser.navigate(url)) as HttpResponse;
  expect(page.body).toContain('Authenticator app');
  expect(page.body).toContain('YubiKey');
  expect(page.body).toContain('Laptop');

  const yubi = await w.rt.db.knex('user_passkeys').where({ instance_id: w.inst.instanceId, user_id: id, name: 'YubiKey' }).first();
  page = await submitConsoleForm(browser, page, '/mfa/passkeys/remove', { id: yubi.id });
  expect(page.body).toContain('The passkey was removed.');
  expect(page.body).not.toContain('YubiKey');
  expect(page.body).toContain('Laptop');
  page = await submitConsoleForm(browser, page, '/mfa/totp/reset');
  expect(page.body).toContain('The authenticator was reset');
  expect(await w.rt.db.knex('user_totp').where({ instance_id: w.inst.instanceId, user_id: id })).toHaveLength(0);
  expect((await w.rt.db.knex('user_passkeys').where({ instance_id: w.inst.instanceId, user_id: id })).map((p) => p.name)).toEqual(['Laptop']);

  page = await submitConsoleForm(browser, page, '/lock');
  expect(page.body).toContain('The user is locked.');
  expect((await w.rt.db.knex('users').where({ instance_id: w.inst.instanceId, id }).first()).state).toBe('locked');
  page = await submitConsoleForm(browser, page, '/unlock');
  expect(page.body).toContain('The user is unlocked.');
  expect((await w.rt.db.knex('users').where({ instance_id: w.inst.instanceId, id }).first()).state).toBe('active');

  // The confirmation names what goes with the user.
  const confirm = (await browser.navigate(new URL(`${url.pathname}/delete`, w.issuer))) as HttpResponse;
  expect(confirm.body).toContain('Deleting the user cannot be undone');
  expect(confirm.body).toMatch(/0 authorizations/);
});
