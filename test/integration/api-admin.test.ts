import { SMTPServer } from 'smtp-server';
import type { AddressInfo } from 'node:net';
import { testRuntime, testInstance, type TestInstance } from '../support/runtime.js';
import { eventually } from '../support/eventually.js';
import type { Runtime } from '../../src/runtime/index.js';
import { getInstance } from '../../src/domain/instance/repository.js';
import { client, machineCaller, machineToken, serve, type Caller, type Served } from './api-client.js';

let rt: Runtime;
let srv: Served;
let inst: TestInstance;
let admin: Caller;
beforeAll(async () => {
  rt = await testRuntime();
  srv = await serve(rt);
  inst = await testInstance(rt, 'Admin');
  admin = await machineCaller(rt, inst, inst.orgId, [{ level: 'instance', roles: ['IAM_OWNER'] }]);
});
afterAll(async () => {
  await srv.close();
  await rt.close();
});

describe('SMTP settings and the test mail', () => {
  let smtp: SMTPServer;
  let smtpPort: number;
  const received: { from: string; to: string[]; data: string; user?: string }[] = [];
  beforeAll(async () => {
    smtp = new SMTPServer({
      hideSTARTTLS: true,
      authOptional: false,
      allowInsecureAuth: true,
      onAuth(auth, _session, cb) {
        if (auth.username === 'mailer' && auth.password === 'smtp-secret') cb(null, { user: auth.username });
        else cb(new Error('bad credentials'));
      },
      onData(stream, session, cb) {
        const chunks: Buffer[] = [];
        stream.on('data', (c) => chunks.push(c));
        stream.on('end', () => {
          received.push({
            from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
            to: session.envelope.rcptTo.map((r) => r.address),
            data: Buffer.concat(chunks).toString('utf8'),
            user: session.user as string | undefined,
          });
          cb();
        });
      },
    });
    await new Promise<void>((resolve) => smtp.listen(0, '127.0.0.1', resolve));
    smtpPort = (smtp.server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => smtp.close(() => resolve()));
  });

  test('the settings are stored (password encrypted, never returned) and a test mail goes through the real server', async () => {
    const api = client(srv.port, inst.domain, admin.token);
    const put = await api.put('/admin/v1/settings/smtp', {
      host: '127.0.0.1',
      port: smtpPort,
      tls: false,
      user: 'mailer',
      password: 'smtp-secret',
      fromAddress: `noreply@${inst.domain}`,
      fromName: 'Tessera Test',
    });
    expect(put.status).toBe(200);
    expect(put.body).toMatchObject({ host: '127.0.0.1', port: smtpPort, user: 'mailer', hasPassword: true });
    expect(put.text).not.toContain('smtp-secret');
    const row = await getInstance(inst.scope);
    expect(row!.smtp_password_enc).toBeTruthy();
    expect(row!.smtp_password_enc).not.toContain('smtp-secret');

    const sent = await api.post('/admin/v1/settings/smtp/_test', { to: 'ops@example.com' });
    expect(sent.status).toBe(200);
    expect(sent.body.sent).toBe(true);
    expect(received).toHaveLength(1);
    expect(received[0]).toMatchObject({ from: `noreply@${inst.domain}`, to: ['ops@example.com'], user: 'mailer' });
    expect(received[0].data).toContain('Subject: Tessera SMTP test');
  });

  test('a refused login at the SMTP server comes back as a problem with a stable code', async () => {
    const api = client(srv.port, inst.domain, admin.token);
    await api.put('/admin/v1/settings/smtp', {
      host: '127.0.0.1',
      port: smtpPort,
      tls: false,
      user: 'mailer',
      password: 'wrong',
      fromAddress: `noreply@${inst.domain}`,
      fromName: 'T',
    });
    const res = await api.post('/admin/v1/settings/smtp/_test', { to: 'ops@example.com' });
    expect(res.status).toBe(422);
    expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
    expect(res.body).toMatchObject({ code: 'smtp.send_failed', category: 'rule_violation' });
  });

  test('tls on a port other than 465 requires STARTTLS: a server without it is refused, as real mail would be', async () => {
    const api = client(srv.port, inst.domain, admin.token);
    await api.put('/admin/v1/settings/smtp', {
      host: '127.0.0.1',
      port: smtpPort,
      tls: true,
      user: 'mailer',
      password: 'smtp-secret',
      fromAddress: `noreply@${inst.domain}`,
      fromName: 'T',
    });
    const before = received.length;
    expect((await api.post('/admin/v1/settings/smtp/_test', { to: 'ops@example.com' })).body).toMatchObject({ status: 422, code: 'smtp.send_failed' });
    expect(received).toHaveLength(before);
  });

  test('only IAM managers may send test mails', async () => {
    const orgOwner = await machineCaller(rt, inst, inst.orgId, [{ level: 'org', roles: ['ORG_OWNER'] }]);
    const res = await client(srv.port, inst.domain, orgOwner.token).post('/admin/v1/settings/smtp/_test', { to: 'ops@example.com' });
    expect(res.body).toMatchObject({ status: 403, code: 'permission_denied' });
  });
});

describe('token lifetimes', () => {
  test('a changed access token lifetime is what the next token gets, and that token (JWT) authenticates API calls', async () => {
    const api = client(srv.port, inst.domain, admin.token);
    const bot = (await api.post('/management/v1/users/machine', { username: 'lifetime-bot', name: 'Lifetime bot' })).body.id as string;
    const { clientId, clientSecret } = (await api.post(`/management/v1/users/${bot}/secret`)).body;

    const before = await machineToken(srv.port, inst.domain, clientId, clientSecret);
    expect(before).toMatchObject({ status: 200 });
    expect(before.body.expires_in).toBeGreaterThan(11 * 3600);

    const put = await api.put('/admin/v1/settings/oidc', { accessTokenLifetimeS: 900 });
    expect(put).toMatchObject({ status: 200, body: { accessTokenLifetimeS: 900, idTokenLifetimeS: 43200 } });

    const after = await machineToken(srv.port, inst.domain, clientId, clientSecret);
    expect(after.body.expires_in).toBeLessThanOrEqual(900);
    expect(after.body.expires_in).toBeGreaterThan(890);

    const me = await client(srv.port, inst.domain, after.body.access_token).get('/auth/v1/users/me');
    expect(me).toMatchObject({ status: 200, body: { id: bot, type: 'machine' } });
    // Without the API audience the same machine's token is not an API token.
    const appOnly = await machineToken(srv.port, inst.domain, clientId, clientSecret, 'openid');
    expect((await client(srv.port, inst.domain, appOnly.body.access_token).get('/auth/v1/users/me')).status).toBe(401);
  });

  test('an opaque access token of this instance authenticates too; of another instance it does not', async () => {
    const api = client(srv.port, inst.domain, admin.token);
    const bot = (await api.post('/management/v1/users/machine', { username: 'opaque-bot', name: 'Opaque bot', accessTokenType: 'opaque' })).body.id as string;
    const { clientId, clientSecret } = (await api.post(`/management/v1/users/${bot}/secret`)).body;
    const token = await machineToken(srv.port, inst.domain, clientId, clientSecret);
    expect(token.status).toBe(200);
    expect(token.body.access_token.split('.')).toHaveLength(1);
    expect((await client(srv.port, inst.domain, token.body.access_token).get('/auth/v1/users/me')).body).toMatchObject({ id: bot });
    const appOnly = await machineToken(srv.port, inst.domain, clientId, clientSecret, 'openid');
    expect((await client(srv.port, inst.domain, appOnly.body.access_token).get('/auth/v1/users/me')).status).toBe(401);

    const other = await testInstance(rt, 'Other');
    expect((await client(srv.port, other.domain, token.body.access_token).get('/auth/v1/users/me')).status).toBe(401);
  });

  test('a change made through one process shows in the next token another process issues', async () => {
    const rt2 = await testRuntime();
    const srv2 = await serve(rt2);
    try {
      const api = client(srv.port, inst.domain, admin.token);
      const bot = (await api.post('/management/v1/users/machine', { username: 'two-process-bot', name: 'Two' })).body.id as string;
      const { clientId, clientSecret } = (await api.post(`/management/v1/users/${bot}/secret`)).body;
      // Process 2 builds (and caches) the instance's provider with the current lifetime.
      const first = await machineToken(srv2.port, inst.domain, clientId, clientSecret);
      expect(first.status).toBe(200);
      expect((await api.put('/admin/v1/settings/oidc', { accessTokenLifetimeS: 1200 })).status).toBe(200);
      // The change notice crosses Redis asynchronously.
      const next = await eventually(
        () => machineToken(srv2.port, inst.domain, clientId, clientSecret),
        (r) => r.body.expires_in <= 1200,
      );
      expect(next.body.expires_in).toBeLessThanOrEqual(1200);
      expect(next.body.expires_in).toBeGreaterThan(1190);
    } finally {
      await srv2.close();
      await rt2.close();
    }
  });

  test('a machine secret replaced through the API works at once, and the old one stops', async () => {
    const api = client(srv.port, inst.domain, admin.token);
    const bot = (await api.post('/management/v1/users/machine', { username: 'rotating-bot', name: 'Rotating' })).body.id as string;
    const first = (await api.post(`/management/v1/users/${bot}/secret`)).body;
    expect((await machineToken(srv.port, inst.domain, first.clientId, first.clientSecret)).status).toBe(200);
    const second = (await api.post(`/management/v1/users/${bot}/secret`)).body;
    expect((await machineToken(srv.port, inst.domain, second.clientId, second.clientSecret)).status).toBe(200);
    expect((await machineToken(srv.port, inst.domain, first.clientId, first.clientSecret)).status).toBe(401);
  });

  test('lifetimes are validated with stable codes', async () => {
    const api = client(srv.port, inst.domain, admin.token);
    expect((await api.put('/admin/v1/settings/oidc', { accessTokenLifetimeS: 5 })).body).toMatchObject({ status: 400, code: 'invalid_input' });
    expect((await api.put('/admin/v1/settings/oidc', { refreshTokenIdleS: 400 * 86400, refreshTokenAbsoluteS: 300 * 86400 })).body).toMatchObject({
      status: 422,
      code: 'instance.refresh_idle_exceeds_absolute',
    });
  });
});

test('the audit trail reads back who changed what, filtered by resource, actor, type and time', async () => {
  const api = client(srv.port, inst.domain, admin.token);
  const since = new Date(Date.now() - 1000).toISOString();
  const { id: projectId } = (await api.post('/management/v1/projects', { name: 'Audited' })).body;
  await api.patch(`/management/v1/projects/${projectId}`, { projectRoleCheck: true });

  const events = await api.get(`/admin/v1/events?resourceType=project&resourceId=${projectId}&from=${encodeURIComponent(since)}`);
  expect(events.status).toBe(200);
  expect(events.body.result.map((e: any) => e.type)).toEqual(['project.added', 'project.changed']);
  expect(events.body.result[1]).toMatchObject({ actorId: admin.userId, actorType: 'user', orgId: inst.orgId, resourceId: projectId });

  const byActor = await api.get(`/admin/v1/events?actorId=${admin.userId}&type=project.changed`);
  expect(byActor.body.result.every((e: any) => e.actorId === admin.userId && e.type === 'project.changed')).toBe(true);
  const future = await api.get(`/admin/v1/events?from=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}`);
  expect(future.body.result).toEqual([]);

  const history = await api.get(`/management/v1/projects/${projectId}/history`);
  expect(history.body.result.map((e: any) => e.type)).toEqual(['project.added', 'project.changed']);

  // Cursor paging: two pages of one, then the end.
  const p1 = await api.get(`/admin/v1/events?resourceId=${projectId}&limit=1`);
  const p2 = await api.get(`/admin/v1/events?resourceId=${projectId}&limit=1&afterSeq=${p1.body.details.nextAfterSeq}`);
  expect([...p1.body.result, ...p2.body.result].map((e: any) => e.type)).toEqual(['project.added', 'project.changed']);
});

describe("the instance's domains", () => {
  const discovery = (port: number, host: string) => client(port, host).get('/.well-known/openid-configuration');

  test('an IAM_OWNER adds a domain (served at once, by another process too), makes it primary and removes the old one', async () => {
    const own = await testInstance(rt, 'Domains');
    const owner = await machineCaller(rt, own, own.orgId, [{ level: 'instance', roles: ['IAM_OWNER'] }]);
    const rt2 = await testRuntime();
    const srv2 = await serve(rt2);
    try {
      const first = own.domain;
      const added = `admin-api-${own.instanceId.toLowerCase()}.example`;
      const api = (host: string) => client(srv.port, host, owner.token);
      expect((await api(first).get('/admin/v1/domains')).body).toEqual([{ domain: first, isPrimary: true, isGenerated: false }]);
      // The other process has looked the host up before (and keeps that nothing is there).
      expect((await discovery(srv2.port, added)).status).toBe(404);

      expect((await api(first).post('/admin/v1/domains', { domain: `  ${added.toUpperCase()} ` })).status).toBe(204);
      const here = await discovery(srv.port, added);
      expect(here.status).toBe(200);
      expect(here.body.issuer).toBe(`http://${added}`);
      const there = await eventually(
        () => discovery(srv2.port, added),
        (r) => r.status === 200,
      );
      expect(there.body.issuer).toBe(`http://${added}`);

      const again = await api(first).post('/admin/v1/domains', { domain: added });
      expect(again.status).toBe(409);
      expect(again.body.code).toBe('instance_domain.exists');
      const malformed = await api(first).post('/admin/v1/domains', { domain: 'not a domain' });
      expect(malformed.status).toBe(400);
      expect(malformed.headers['content-type']).toMatch(/^application\/problem\+json/);

      const primaryGone = await api(first).delete(`/admin/v1/domains/${first}`);
      expect(primaryGone.status).toBe(422);
      expect(primaryGone.body.code).toBe('instance_domain.primary');
      expect((await api(first).post(`/admin/v1/domains/${added}/_set_primary`)).status).toBe(204);
      expect((await api(first).get('/admin/v1/domains')).body).toEqual([
        { domain: added, isPrimary: true, isGenerated: false },
        { domain: first, isPrimary: false, isGenerated: false },
      ]);
      // Not through the host the request came in on; through the other one it goes.
      const cutOff = await api(first).delete(`/admin/v1/domains/${first}`);
      expect(cutOff.status).toBe(422);
      expect(cutOff.body.code).toBe('instance_domain.current');
      expect((await api(added).delete(`/admin/v1/domains/${first}`)).status).toBe(204);
      expect((await discovery(srv.port, first)).status).toBe(404);
      expect(
        (
          await eventually(
            () => discovery(srv2.port, first),
            (r) => r.status === 404,
          )
        ).status,
      ).toBe(404);
      expect((await api(added).get('/admin/v1/domains')).body).toEqual([{ domain: added, isPrimary: true, isGenerated: false }]);
    } finally {
      await srv2.close();
      await rt2.close();
    }
  });

  test('managers without iam.domain.write read the domains but change none; org managers see none', async () => {
    const viewer = await machineCaller(rt, inst, inst.orgId, [{ level: 'instance', roles: ['IAM_ORG_MANAGER'] }]);
    const orgOwner = await machineCaller(rt, inst, inst.orgId, [{ level: 'org', roles: ['ORG_OWNER'] }]);
    const asViewer = client(srv.port, inst.domain, viewer.token);
    expect((await asViewer.get('/admin/v1/domains')).body).toContainEqual({ domain: inst.domain, isPrimary: true, isGenerated: false });
    const refused = await asViewer.post('/admin/v1/domains', { domain: `refused-${inst.instanceId.toLowerCase()}.example` });
    expect(refused.status).toBe(403);
    expect(refused.body.code).toBe('permission_denied');
    expect((await discovery(srv.port, `refused-${inst.instanceId.toLowerCase()}.example`)).status).toBe(404);
    expect((await client(srv.port, inst.domain, orgOwner.token).get('/admin/v1/domains')).status).toBe(403);
  });
});
