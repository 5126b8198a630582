import http from 'node:http';
import { buildAuthorizationUrl, calculatePKCECodeChallenge, randomPKCECodeVerifier } from 'openid-client';
import { loadBranding } from '../../src/ui/branding.js';
import { testRuntime, testInstance, type TestInstance } from '../support/runtime.js';
import type { Runtime } from '../../src/runtime/index.js';
import { MailCatcher } from '../browser/mail-catcher.js';
import { Browser, discover, login } from '../support/rp.js';
import { API_SCOPE } from '../../src/api/oidc-tokens.js';
import { MAX_ASSET_BYTES } from '../../src/domain/policy/label-assets.js';
import { client, machineCaller, machineToken, request, serve, type Caller, type Served } from './api-client.js';

/**
 * Where the API meets the OpenID Provider, the login pages and the mailer: revoked JWTs, label
 * assets uploaded over the API and shown on the login page, and the mails admin actions send.
 */
let rt: Runtime;
let srv: Served;
let inst: TestInstance;
let iam: Caller;
let api: ReturnType<typeof client>;
let smtp: MailCatcher;
beforeAll(async () => {
  rt = await testRuntime();
  srv = await serve(rt);
  inst = await testInstance(rt, 'Glue');
  iam = await machineCaller(rt, inst, inst.orgId, [{ level: 'instance', roles: ['IAM_OWNER'] }]);
  api = client(srv.port, inst.domain, iam.token);
  smtp = await new MailCatcher().start();
  const put = await api.put('/admin/v1/settings/smtp', {
    host: '127.0.0.1',
    port: smtp.port,
    tls: false,
    fromAddress: `noreply@${inst.domain}`,
    fromName: 'Glue',
  });
  expect(put.status).toBe(200);
});
// The runtime first: it closes the pooled SMTP connections the catcher would otherwise wait for.
afterAll(async () => {
  await srv.close();
  await rt.close();
  await smtp.close();
});

/** A form post to one of the provider's endpoints named in discovery, with client_secret_basic. */
async function providerPost(endpoint: 'revocation_endpoint' | 'introspection_endpoint', clientId: string, secret: string, form: Record<string, string>) {
  const discovery = await request(srv.port, inst.domain, 'GET', '/.well-known/openid-configuration');
  return request(srv.port, inst.domain, 'POST', new URL(discovery.body[endpoint]).pathname, {
    form,
    headers: { authorization: `Basic ${Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(secret)}`).toString('base64')}` },
  });
}

describe('JWT access tokens at the API', () => {
  test('a revoked JWT access token is refused with 401, though its signature is still valid', async () => {
    const bot = (await api.post('/management/v1/users/machine', { username: 'revoked-bot', name: 'Revoked', accessTokenType: 'jwt' })).body.id as string;
    const { clientId, clientSecret } = (await api.post(`/management/v1/users/${bot}/secret`)).body;
    const token = await machineToken(srv.port, inst.domain, clientId, clientSecret);
    expect(token.status).toBe(200);
    const jwt = token.body.access_token as string;
    expect(jwt.split('.')).toHaveLength(3);
    const other = (await machineToken(srv.port, inst.domain, clientId, clientSecret)).body.access_token as string;

    const bearer = client(srv.port, inst.domain, jwt);
    expect((await bearer.get('/auth/v1/users/me')).body).toMatchObject({ id: bot });

    const revoked = await providerPost('revocation_endpoint', clientId, clientSecret, { token: jwt, token_type_hint: 'access_token' });
    expect(revoked.status).toBe(200);
    const refused = await bearer.get('/auth/v1/users/me');
    expect(refused).toMatchObject({ status: 401, body: { code: 'unauthenticated' } });
    expect((await bearer.get('/management/v1/users')).status).toBe(401);
    // Only that token: the machine's other token still works.
    expect((await client(srv.port, inst.domain, other).get('/auth/v1/users/me')).body).toMatchObject({ id: bot });
  });
});

describe('label assets over the API', () => {
  const png = Buffer.concat([Buffer.from('89504e470d0a1a0a', 'hex'), Buffer.from('glue-logo')]);
  const upload = (path: string, token: string, contentType: string, data: Buffer, headers: Record<string, string> = {}) =>
    new Promise<{ status: number; body: any }>((resolve, reject) => {
      const req = http.request(
        {
          host: '127.0.0.1',
          port: srv.port,
          method: 'PUT',
          path,
          headers: { host: inst.domain, authorization: `Bearer ${token}`, 'content-type': contentType, 'content-length': data.length, ...headers },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            resolve({ status: res.statusCode ?? 0, body: text ? JSON.parse(text) : undefined });
          });
        },
      );
      req.on('error', reject);
      req.end(data);
    });

  test('an org owner uploads a logo; the login page of that org shows it and serves its bytes', async () => {
    const org = (await api.post('/management/v1/orgs', { name: 'Branded' })).body.id as string;
    const owner = await machineCaller(rt, inst, org, [{ level: 'org', roles: ['ORG_OWNER'] }]);
    const put = await upload('/management/v1/policies/label/assets/logo_light', owner.token, 'image/png', png);
    expect(put).toMatchObject({ status: 200, body: { kind: 'logo_light', contentType: 'image/png', bytes: png.length } });
    expect(put.body.url).toMatch(new RegExp(`^/ui/login/branding/${org}/logo_light\\?v=\\d+$`));
    expect((await client(srv.port, inst.domain, owner.token).get('/management/v1/policies/label/assets')).body.result).toEqual([
      expect.objectContaining({ kind: 'logo_light', url: put.body.url }),
    ]);

    // A login scoped to the org (as ZITADEL: urn:zitadel:iam:org:id:…) shows the org's logo.
    const { id: projectId } = (await api.post('/management/v1/projects', { name: 'Branding app' })).body;
    const app = (
      await api.post(`/management/v1/projects/${projectId}/apps`, { name: 'Web', appType: 'web', authMethod: 'none', redirectUris: ['http://localhost/cb'] })
    ).body;
    const rp = { issuer: `http://${inst.domain}:${srv.port}`, clientId: app.clientId, redirectUri: 'http://localhost/cb', auth: 'none' as const };
    const config = await discover(rp);
    const url = buildAuthorizationUrl(config, {
      redirect_uri: rp.redirectUri,
      scope: `openid urn:zitadel:iam:org:id:${org}`,
      state: 's',
      code_challenge: await calculatePKCECodeChallenge(randomPKCECodeVerifier()),
      code_challenge_method: 'S256',
    });
    const page = await new Browser().navigate(url, {}, rp.redirectUri);
    expect('body' in page).toBe(true);
    const html = (page as { body: string }).body;
    const src = /<img[^>]+class="logo"[^>]+src="([^"]+)"|<img[^>]+src="([^"]+)"[^>]+class="logo"/.exec(html);
    expect(src).not.toBeNull();
    const logoPath = (src![1] ?? src![2]).replace(/&amp;/g, '&');
    expect(logoPath).toBe(put.body.url);
    const served = await new Promise<{ status: number; type?: string; data: Buffer }>((resolve, reject) => {
      http
        .get({ host: '127.0.0.1', port: srv.port, path: logoPath, headers: { host: inst.domain } }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, type: res.headers['content-type'], data: Buffer.concat(chunks) }));
        })
        .on('error', reject);
    });
    expect(served.status).toBe(200);
    expect(served.type).toBe('image/png');
    expect(served.data.equals(png)).toBe(true);

    // Removed: the org has no assets of its own left, and the removal is audited like the upload.
    expect((await client(srv.port, inst.domain, owner.token).delete('/management/v1/policies/label/assets/logo_light')).status).toBe(204);
    expect((await client(srv.port, inst.domain, owner.token).get('/management/v1/policies/label/assets')).body.result).toEqual([]);
    const history = await api.get(`/admin/v1/events?resourceType=label_asset&orgId=${org}`);
    expect(history.body.result.map((e: any) => e.type)).toEqual(['org.label_asset.set', 'org.label_asset.removed']);
  });

  test('only images (fonts for the font), within the size limit, and only with policy.write', async () => {
    const org = (await api.post('/management/v1/orgs', { name: 'Strict branding' })).body.id as string;
    const owner = await machineCaller(rt, inst, org, [{ level: 'org', roles: ['ORG_OWNER'] }]);
    const path = '/management/v1/policies/label/assets/logo_dark';
    expect((await upload(path, owner.token, 'text/html', Buffer.from('<script>alert(1)</script>'))).body).toMatchObject({
      status: 400,
      code: 'upload.unsupported_type',
    });
    // A font type is an allowed upload, but not for a logo.
    expect((await upload(path, owner.token, 'font/woff2', Buffer.from('wOF2'))).body).toMatchObject({ status: 400, code: 'label_asset.unsupported_type' });
    expect((await upload(path, owner.token, 'image/png', Buffer.alloc(MAX_ASSET_BYTES + 1, 1))).body).toMatchObject({ status: 400, code: 'upload.too_large' });
    expect((await upload('/management/v1/policies/label/assets/banner', owner.token, 'image/png', png)).body).toMatchObject({
      status: 400,
      code: 'invalid_input',
    });
    const viewer = await machineCaller(rt, inst, org, [{ level: 'org', roles: ['ORG_USER_MANAGER'] }]);
    expect((await upload(path, viewer.token, 'image/png', png)).body).toMatchObject({ status: 403, code: 'permission_denied' });
    // An org owner cannot set the instance default.
    expect((await upload('/admin/v1/policies/label/assets/logo_dark', owner.token, 'image/png', png)).body).toMatchObject({ status: 403 });
    expect((await upload('/management/v1/policies/label/assets/font', owner.token, 'font/woff2', Buffer.from('wOF2-bytes'))).body).toMatchObject({
      kind: 'font',
      contentType: 'font/woff2',
    });
  });

  test('the instance default is set over the Admin API and shows for orgs without their own', async () => {
    const icon = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"/>');
    const put = await upload('/admin/v1/policies/label/assets/icon_light', iam.token, 'image/svg+xml; charset=utf-8', icon);
    expect(put).toMatchObject({ status: 200, body: { kind: 'icon_light', contentType: 'image/svg+xml' } });
    expect(put.body.url).toMatch(/^\/ui\/login\/branding\/instance\/icon_light\?v=\d+$/);
    expect((await api.get('/admin/v1/policies/label/assets')).body.result).toEqual([expect.objectContaining({ kind: 'icon_light' })]);
    const org = (await api.post('/management/v1/orgs', { name: 'Plain' })).body.id as string;
    expect((await loadBranding(inst.scope, org)).assets.icon_light).toBe(put.body.url);
    expect((await api.delete('/admin/v1/policies/label/assets/icon_light')).status).toBe(204);
    expect((await loadBranding(inst.scope, org)).assets.icon_light).toBeUndefined();
  });

  test('the upload routes are in the OpenAPI document, as binary bodies of their types', async () => {
    const doc = (await request(srv.port, inst.domain, 'GET', '/openapi.json')).body;
    for (const prefix of ['/management/v1', '/admin/v1']) {
      const op = doc.paths[`${prefix}/policies/label/assets/{kind}`].put;
      expect(Object.keys(op.requestBody.content)).toEqual(expect.arrayContaining(['image/png', 'image/svg+xml', 'font/woff2']));
      expect(op.requestBody.content['image/png'].schema).toMatchObject({ type: 'string', format: 'binary' });
      expect(doc.paths[`${prefix}/policies/label/assets/{kind}`].delete).toBeDefined();
      expect(doc.paths[`${prefix}/policies/label/assets`].get).toBeDefined();
    }
  });
});

describe('mails from admin actions', () => {
  test('a human created without a password is mailed an initial-password code; with a password, not', async () => {
    const created = await api.post('/management/v1/users/human', { username: 'ines', email: 'ines@glue.example', givenName: 'Ines' });
    expect(created.status).toBe(201);
    const mail = await smtp.waitFor('ines@glue.example');
    expect(mail.subject).toBe('Your new account');
    expect(mail.from).toBe(`noreply@${inst.domain}`);
    expect(mail.text).toContain(`/ui/login/init?user=${created.body.id}&code=`);
    expect((await api.get(`/management/v1/users/${created.body.id}`)).body).toMatchObject({ state: 'initial' });

    // The link in the mail sets the password (the login's own page) and activates the user.
    const link = new URL(/https?:\/\/\S+\/ui\/login\/init\?user=\d+&code=\w+/.exec(mail.text)![0]);
    const set = await request(srv.port, inst.domain, 'POST', '/ui/login/init', {
      form: { user: link.searchParams.get('user')!, code: link.searchParams.get('code')!, password: 'Ines-Passw0rd!', passwordConfirm: 'Ines-Passw0rd!' },
    });
    expect(set.status).toBe(200);
    expect((await api.get(`/management/v1/users/${created.body.id}`)).body).toMatchObject({ state: 'active' });

    const withPassword = await api.post('/management/v1/users/human', { username: 'pia', email: 'pia@glue.example', password: 'Pia-Passw0rd!' });
    expect(withPassword.status).toBe(201);
    // The mail is handed to SMTP before the API answers: had one been sent, it would be here.
    expect(smtp.mails.filter((m) => m.to.includes('pia@glue.example'))).toEqual([]);
  });

  test('a password set by an admin sends the "password changed" notice, unless the org\'s notification policy says no', async () => {
    const org = (await api.post('/management/v1/orgs', { name: 'Notified' })).body.id as string;
    const inOrg = client(srv.port, inst.domain, iam.token, { 'x-org-id': org });
    const user = (await inOrg.post('/management/v1/users/human', { username: 'nora', email: 'nora@glue.example', password: 'Nora-Passw0rd!' })).body
      .id as string;
    expect((await inOrg.put(`/management/v1/users/${user}/password`, { password: 'Nora-Passw0rd-2!' })).status).toBe(204);
    const notice = await smtp.waitFor('nora@glue.example');
    expect(notice.subject).toBe('Your password was changed');

    expect((await inOrg.put('/management/v1/policies/notification', { passwordChange: false })).status).toBe(200);
    expect((await inOrg.put(`/management/v1/users/${user}/password`, { password: 'Nora-Passw0rd-3!' })).status).toBe(204);
    expect(smtp.mails.filter((m) => m.to.includes('nora@glue.example'))).toHaveLength(1);
  });

  test('a password changed by its owner through the Auth API sends the notice too', async () => {
    const { id: p } = (await api.post('/management/v1/projects', { name: 'Self service mail' })).body;
    const app = (
      await api.post(`/management/v1/projects/${p}/apps`, { name: 'Self', appType: 'web', authMethod: 'none', redirectUris: ['http://localhost/cb'] })
    ).body;
    const human = (
      await api.post('/management/v1/users/human', { username: 'sami', email: 'sami@glue.example', emailVerified: true, password: 'Sami-Passw0rd!' })
    ).body.id;
    const loginName = (await api.get(`/management/v1/users/${human}`)).body.preferredLoginName;
    const rp = { issuer: `http://${inst.domain}:${srv.port}`, clientId: app.clientId, redirectUri: 'http://localhost/cb', auth: 'none' as const };
    const { tokens } = await login(await discover(rp), rp, { loginName, password: 'Sami-Passw0rd!', scope: `openid ${API_SCOPE}` });
    const self = client(srv.port, `${inst.domain}:${srv.port}`, tokens.access_token);
    expect((await self.put('/auth/v1/users/me/password', { currentPassword: 'wrong', password: 'Sami-Passw0rd-2!' })).status).toBe(422);
    expect(smtp.mails.filter((m) => m.to.includes('sami@glue.example'))).toEqual([]);
    expect((await self.put('/auth/v1/users/me/password', { currentPassword: 'Sami-Passw0rd!', password: 'Sami-Passw0rd-2!' })).status).toBe(204);
    expect((await smtp.waitFor('sami@glue.example')).subject).toBe('Your password was changed');
  });
});
