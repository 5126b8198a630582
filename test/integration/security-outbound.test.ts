import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { loginWorld, LoginSession, type LoginWorld } from './login-support.js';
import { client, machineCaller } from './api-client.js';
import { startUpstream, type Upstream } from '../browser/upstream.js';
import { addOrg } from '../support/rp.js';
import { createIdp } from '../../src/domain/idp/service.js';
import { testIdpDiscovery } from '../../src/domain/idp/queries.js';
import { setOrgPolicy } from '../../src/domain/policy/service.js';
import { WebhookSmsSender } from '../../src/notify/sms-webhook.js';
import { isInternalAddress, Outbound } from '../../src/shared/outbound.js';
import { newId } from '../../src/shared/ids.js';

/**
 * Tenants' settings cannot make the server connect to its own networks (SSRF): with the default
 * `outbound` config, an IdP, an SMTP server or an SMS webhook on 127.0.0.1 is refused before a
 * single byte reaches it, whether the address is in the URL or a name resolves to it.
 */
let w: LoginWorld;
let up: Upstream;
beforeAll(async () => {
  w = await loginWorld('Outbound', { outbound: { allowPrivateNetworks: false, allowedHosts: [] } });
  up = await startUpstream([`http://${w.inst.domain}:${w.server.port}/ui/login/idp/callback`]);
});
afterAll(async () => {
  await up.close();
  await w.close();
});

// (Node's fetch wraps an error from another realm, jest's, in a plain Error; outside jest the cause is OutboundRefused itself.)
const refused = { cause: { message: expect.stringMatching(/127\.0\.0\.1(,| is) an address of a private, loopback or link-local network: refused/) } };

async function orgWithIdp(issuer: string) {
  const domain = `x${newId()}.example`;
  const orgId = await addOrg(w.inst.scope, `Customer ${domain}`, domain);
  const { id } = await createIdp(w.sys(), { orgId, name: 'Inside', issuer, clientId: up.clientId, clientSecret: up.clientSecret });
  await setOrgPolicy(w.sys(), orgId, 'login', { allowExternalIdp: true, idpIds: [id] });
  return { orgId, idpId: id };
}

test('an IdP on a loopback address: the login answers that the sign-in failed, and the IdP never hears of it', async () => {
  const o = await orgWithIdp(up.issuer);
  const before = up.requests;
  const s = await new LoginSession(w).start({}, `openid urn:zitadel:iam:org:id:${o.orgId}`);
  expect(s.page.body).toContain(`/idp/${o.idpId}`);
  await s.get(`${s.page.url.pathname}/idp/${o.idpId}`);
  expect(s.page.status).toBe(400);
  expect(s.page.body).toContain('The sign-in with the external provider failed.');
  expect(up.requests).toBe(before);
});

test("an admin's test of an IdP says why: its name resolves to a loopback address", async () => {
  const o = await orgWithIdp(up.issuer.replace('127.0.0.1', 'localhost'));
  const result = await testIdpDiscovery(w.sys(), o.orgId, o.idpId);
  expect(result).toEqual({
    ok: false,
    error: expect.stringMatching(/^http:\/\/localhost:\d+ could not be reached: .*localhost resolves to (127\.0\.0\.1|::1), an address of a private/),
  });
  expect(up.requests).toBe(0);
});

test('the SMTP test mail to a server on 127.0.0.1 is refused with the reason, and no mail arrives', async () => {
  const admin = await machineCaller(w.rt, w.inst, w.inst.orgId, [{ level: 'instance', roles: ['IAM_OWNER'] }]);
  const res = await client(w.server.port, w.inst.domain, admin.token).post('/admin/v1/settings/smtp/_test', { to: 'ops@example.com' });
  expect(res.status).toBe(422);
  expect(res.body).toMatchObject({
    code: 'smtp.send_failed',
    detail: expect.stringContaining('127.0.0.1 is an address of a private, loopback or link-local network: refused'),
  });
  expect(w.smtp.mails).toHaveLength(0);
});

test('an SMS webhook on 127.0.0.1 is refused', async () => {
  let hits = 0;
  const receiver = http.createServer((_req, res) => {
    hits++;
    res.end();
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  try {
    const admin = await machineCaller(w.rt, w.inst, w.inst.orgId, [{ level: 'instance', roles: ['IAM_OWNER'] }]);
    const port = (receiver.address() as AddressInfo).port;
    expect((await client(w.server.port, w.inst.domain, admin.token).put('/admin/v1/sms/http', { endpoint: `http://127.0.0.1:${port}/sms` })).status).toBe(200);
    const sent = new WebhookSmsSender(w.rt.deps.box, w.rt.deps.outbound).send(w.inst.scope, { recipient: '+41790000000', text: 'code' });
    await expect(sent).rejects.toMatchObject(refused);
    expect(hits).toBe(0);
  } finally {
    receiver.close();
  }
});

test('an installation opens exact hosts with allowedHosts; a redirect from one to another address is checked again', async () => {
  const opened = new Outbound({ allowPrivateNetworks: false, allowedHosts: ['localhost'] });
  const discovery = await opened.fetch(`${up.issuer.replace('127.0.0.1', 'localhost')}/.well-known/openid-configuration`);
  expect(discovery.status).toBe(200);
  const redirector = http.createServer((_req, res) => res.writeHead(302, { location: `${up.issuer}/.well-known/openid-configuration` }).end());
  await new Promise<void>((resolve) => redirector.listen(0, '127.0.0.1', resolve));
  try {
    const port = (redirector.address() as AddressInfo).port;
    await expect(opened.fetch(`http://localhost:${port}/`)).rejects.toMatchObject(refused);
    const everything = new Outbound({ allowPrivateNetworks: true, allowedHosts: [] });
    expect((await everything.fetch(`http://localhost:${port}/`)).status).toBe(200);
  } finally {
    redirector.close();
  }
});

test.each([
  ['127.0.0.1', true],
  ['10.1.2.3', true],
  ['172.20.0.5', true],
  ['192.168.1.1', true],
  ['169.254.169.254', true],
  ['100.64.0.1', true],
  ['0.0.0.0', true],
  ['::1', true],
  ['::ffff:127.0.0.1', true],
  ['fd12:3456::1', true],
  ['fe80::1', true],
  ['93.184.215.14', false],
  ['8.8.8.8', false],
  ['2606:4700:4700::1111', false],
])('%s is internal: %s', (address, internal) => {
  expect(isInternalAddress(address)).toBe(internal);
});
