import { createHmac, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import { newId } from '../../src/shared/ids.js';
import { addHuman, Browser, formsOf, listen, type HttpResponse } from '../support/rp.js';
import { client as api, machineCaller, type Caller } from './api-client.js';
import { consoleSignIn, consoleForm, submitConsoleForm } from './console-support.js';
import { loginWorld, type LoginWorld } from './login-support.js';

/**
 * Phone verification on the account page, with the instance's SMS provider of type HTTP webhook:
 * a changed phone is unverified, the code goes out as a signed POST {recipient, text} to the
 * endpoint the instance admin set over the Admin API (a real HTTP server here), and the number is
 * verified when that code is entered, as the Management API then shows. Wrong and expired codes
 * are refused; without a provider the page says the number cannot be verified yet.
 */
interface Received {
  headers: http.IncomingHttpHeaders;
  body: string;
}
let w: LoginWorld;
let admin: Caller;
const received: Received[] = [];
let receiver: { port: number; close: () => Promise<void> };
let signingKey = '';

beforeAll(async () => {
  w = await loginWorld('Phone');
  admin = await machineCaller(w.rt, w.inst, w.inst.orgId, [{ level: 'instance', roles: ['IAM_OWNER'] }]);
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      received.push({ headers: req.headers, body });
      res.writeHead(200).end();
    });
  });
  receiver = await listen(server);
});
afterAll(async () => {
  await receiver?.close();
  await w?.close();
});

const apiAs = (token: string) => api(w.server.port, `${w.inst.domain}:${w.server.port}`, token);

/** The next SMS the webhook receives for `recipient`, with its signature checked against the provider's key. */
async function smsTo(recipient: string): Promise<{ text: string; code: string }> {
  for (let i = 0; i < 100; i++) {
    const hit = received.find((r) => JSON.parse(r.body).recipient === recipient);
    if (hit) {
      received.splice(received.indexOf(hit), 1);
      const [t, v1] = String(hit.headers['x-tessera-signature']).split(',');
      const expected = createHmac('sha256', signingKey)
        .update(`${t.slice(2)}.${hit.body}`)
        .digest('hex');
      expect(timingSafeEqual(Buffer.from(v1.slice(3)), Buffer.from(expected))).toBe(true);
      expect(hit.headers['content-type']).toBe('application/json');
      const { text } = JSON.parse(hit.body) as { text: string };
      return { text, code: /\b(\d{6})\b/.exec(text)![1] };
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no SMS to ${recipient}`);
}

async function signedIn() {
  const u = await addHuman(w.rt, w.inst.scope, w.inst.orgId, { username: `ph${newId()}` });
  const { browser, page } = await consoleSignIn(w, u.loginName, u.password, new Browser(), '/ui/account');
  return { u, browser, page };
}

async function changePhone(browser: Browser, page: HttpResponse, phone: string): Promise<HttpResponse> {
  return submitConsoleForm(browser, page, '/ui/account', { phone, preferredLanguage: '' });
}

const phoneOf = async (userId: string) => {
  const { body } = await apiAs(admin.token).get(`/management/v1/users/${userId}`);
  return { phone: body.phone, phoneVerified: body.phoneVerified };
};

test('without an SMS provider a changed phone is saved unverified and the page says it cannot be verified yet', async () => {
  const { u, browser, page } = await signedIn();
  const after = await changePhone(browser, page, '+49 151 0000001');
  expect(after.url.pathname).toBe('/ui/account');
  expect(after.body).toContain('Your phone number cannot be verified yet');
  expect(formsOf(after).some((f) => f.action.pathname.endsWith('/phone/code'))).toBe(false);
  expect(await phoneOf(u.userId)).toEqual({ phone: '+49 151 0000001', phoneVerified: false });
});

describe('with an HTTP webhook SMS provider', () => {
  beforeAll(async () => {
    const set = await apiAs(admin.token).put('/admin/v1/sms/http', { endpoint: `http://127.0.0.1:${receiver.port}/sms`, description: 'test gateway' });
    expect(set.status).toBe(200);
    signingKey = set.body.signingKey;
    expect(signingKey.length).toBeGreaterThanOrEqual(40);
    const read = await apiAs(admin.token).get('/admin/v1/sms/http');
    expect(read.body).toMatchObject({ type: 'http', endpoint: `http://127.0.0.1:${receiver.port}/sms` });
    expect(read.body.signingKey).toBeUndefined();
  });

  test('a changed phone gets a code by SMS; a wrong code is refused, the right one verifies it (Management API: phoneVerified)', async () => {
    const { u, browser, page } = await signedIn();
    const phone = `+4915${Date.now() % 1e8}`;
    const after = await changePhone(browser, page, phone);
    expect(after.body).toContain(`We sent a code by SMS to ${phone}.`);
    const sms = await smsTo(phone);
    expect(sms.text).toContain('verify this phone number');
    expect(await phoneOf(u.userId)).toEqual({ phone, phoneVerified: false });

    const wrong = await submitConsoleForm(browser, after, '/phone/verify', { code: sms.code === '000000' ? '111111' : '000000' });
    expect(wrong.status).toBe(400);
    expect(wrong.body).toContain('That code is not right or has expired.');
    expect(await phoneOf(u.userId)).toEqual({ phone, phoneVerified: false });

    const right = await submitConsoleForm(browser, wrong, '/phone/verify', { code: sms.code });
    expect(right.url.pathname).toBe('/ui/account');
    expect(right.body).toContain('Your phone number is verified.');
    expect(await phoneOf(u.userId)).toEqual({ phone, phoneVerified: true });
  });

  test('an expired code is refused and the phone stays unverified', async () => {
    const { u, browser, page } = await signedIn();
    const phone = `+4916${Date.now() % 1e8}`;
    const after = await changePhone(browser, page, phone);
    const sms = await smsTo(phone);
    // Ten minutes later, as far as the code is concerned.
    await w.inst.scope
      .table('user_codes')
      .where({ user_id: u.userId, kind: 'phone_verification' })
      .update({ expires_at: new Date(Date.now() - 1000) });
    const late = await submitConsoleForm(browser, after, '/phone/verify', { code: sms.code });
    expect(late.status).toBe(400);
    expect(await phoneOf(u.userId)).toEqual({ phone, phoneVerified: false });
    expect(consoleForm(late, '/phone/code')).toBeDefined();
  });
});
