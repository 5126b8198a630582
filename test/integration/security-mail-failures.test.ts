import { newId } from '../../src/shared/ids.js';
import type { HttpResponse } from '../support/rp.js';
import { client, machineCaller } from './api-client.js';
import { consoleSignIn, submitConsoleForm } from './console-support.js';
import { loginWorld, type LoginWorld } from './login-support.js';

/**
 * An admin action that mails (the invitation of a user created without a password) tries the mail
 * at once, and says what became of it: `invitationMail` in the API's answer, a message in the
 * console. The SMTP server here is real and refuses when told to.
 */
let w: LoginWorld;
let api: ReturnType<typeof client>;

beforeAll(async () => {
  w = await loginWorld('Mail failures');
  const caller = await machineCaller(w.rt, w.inst, w.inst.orgId, [{ level: 'org', roles: ['ORG_OWNER'] }]);
  api = client(w.server.port, w.inst.domain, caller.token);
});
afterAll(() => w.close());

const newUser = () => ({ username: `inv${newId()}`, email: `inv${newId()}@mail.example`, givenName: 'Ina' });

describe('Management API: creating a user without a password', () => {
  test('answers invitationMail sent once the SMTP server took the invitation', async () => {
    const body = newUser();
    const res = await api.post('/management/v1/users/human', body);
    expect(res).toMatchObject({ status: 201, body: { invitationMail: { status: 'sent' } } });
    // Sent before the answer: it is already there.
    expect(w.smtp.mails.some((m) => m.to.includes(body.email))).toBe(true);
  });

  test('answers invitationMail failed, with the reason, when the SMTP server refuses; the user is created', async () => {
    w.smtp.refuse(Infinity, 550);
    try {
      const res = await api.post('/management/v1/users/human', newUser());
      expect(res).toMatchObject({ status: 201, body: { id: expect.any(String), invitationMail: { status: 'failed', reason: 'mail.send_failed' } } });
      expect((await api.get(`/management/v1/users/${res.body.id}`)).status).toBe(200);
    } finally {
      w.smtp.refuse(0);
    }
  });

  test('the field is in the OpenAPI schema', async () => {
    const doc = await client(w.server.port, w.inst.domain).get('/openapi.json');
    const created = doc.body.paths['/management/v1/users/human'].post.responses['201'].content['application/json'].schema;
    expect(JSON.stringify(created)).toContain('invitationMail');
  });
});

test('the console says when the invitation could not be sent, and when resending it failed', async () => {
  const { browser } = await consoleSignIn(w, w.inst.adminLoginName, w.inst.adminPassword);
  const form = (await browser.navigate(new URL(`/ui/console/orgs/${w.inst.orgId}/users/new`, w.issuer))) as HttpResponse;
  w.smtp.refuse(Infinity, 550);
  try {
    const created = await submitConsoleForm(browser, form, '/users/human', newUser());
    expect(created.status).toBe(200);
    expect(created.body).toContain('the invitation could not be sent');
    const resent = await submitConsoleForm(browser, created, '/invite');
    expect(resent.body).toContain('could not be sent');
    expect(resent.body).not.toContain('The invitation was sent again.');
  } finally {
    w.smtp.refuse(0);
  }
});
