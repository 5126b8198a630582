import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import type { Runtime } from '../../src/runtime/index.js';
import { listSigningKeys, rotateSigningKeys } from '../../src/domain/signing-key/service.js';
import { sweepExpiredPayloads } from '../../src/oidc/adapter.js';
import { ProviderPool } from '../../src/oidc/pool.js';
import { TEST_DATABASE_URL, TEST_MASTER_KEY, TEST_REDIS_URL } from '../support/env.js';
import { testInstance, testRuntime, type TestInstance } from '../support/runtime.js';
import { clockReaches, eventually } from '../support/eventually.js';
import { noticesHeard } from '../support/notices.js';
import { addApp, addHuman, addMachine, addProject, client, discover, serveApp, localRequest, login, type AppFixture, type RpClient } from '../support/rp.js';

const run = promisify(execFile);

let rt: Runtime;
let server: { port: number; close: () => Promise<void> };

beforeAll(async () => {
  rt = await testRuntime();
  server = await serveApp(rt);
});
afterAll(async () => {
  await server.close();
  await rt.close();
});

interface Fixture {
  inst: TestInstance;
  issuer: string;
  app: AppFixture;
  user: Awaited<ReturnType<typeof addHuman>>;
  rp: RpClient;
}

async function fixture(name: string, port = server.port, runtime = rt): Promise<Fixture> {
  const inst = await testInstance(runtime, name);
  const project = await addProject(inst.scope, inst.orgId);
  const app = await addApp(runtime, inst.scope, project.projectId);
  const user = await addHuman(runtime, inst.scope, inst.orgId);
  const issuer = `http://${inst.domain}:${port}`;
  return { inst, issuer, app, user, rp: { issuer, clientId: app.clientId, clientSecret: app.clientSecret, redirectUri: app.redirectUri } };
}

async function jwks(issuer: string) {
  return JSON.parse((await localRequest(new URL(`${issuer}/jwks`))).body) as { keys: { kid: string; alg: string; key_ops?: string[] }[] };
}

async function idToken(f: Fixture) {
  const config = await discover(f.rp);
  const { tokens } = await login(config, f.rp, { loginName: f.user.loginName, password: f.user.password });
  return tokens;
}

describe('discovery (Config OP)', () => {
  test('advertises exactly what Tessera supports', async () => {
    const f = await fixture('Config');
    const meta = (await discover(f.rp)).serverMetadata();
    expect(meta).toMatchObject({
      issuer: f.issuer,
      jwks_uri: `${f.issuer}/jwks`,
      token_endpoint: `${f.issuer}/token`,
      userinfo_endpoint: `${f.issuer}/me`,
      end_session_endpoint: `${f.issuer}/session/end`,
      introspection_endpoint: `${f.issuer}/token/introspection`,
      revocation_endpoint: `${f.issuer}/token/revocation`,
      response_types_supported: ['code'],
      code_challenge_methods_supported: ['S256'],
      subject_types_supported: ['public'],
      authorization_response_iss_parameter_supported: true,
    });
    expect(meta.grant_types_supported).toEqual(
      expect.arrayContaining(['authorization_code', 'refresh_token', 'client_credentials', 'urn:ietf:params:oauth:grant-type:jwt-bearer']),
    );
    expect(meta.grant_types_supported).not.toContain('implicit');
    expect(meta.grant_types_supported).not.toContain('password');
    expect(meta.scopes_supported).toEqual(
      expect.arrayContaining(['openid', 'profile', 'email', 'phone', 'offline_access', 'urn:zitadel:iam:org:projects:roles']),
    );
    // Algorithms follow the instance's keys: RS256 by default, ES256 once an EC key is published.
    expect(meta.id_token_signing_alg_values_supported).toEqual(['RS256']);
    expect(meta.token_endpoint_auth_methods_supported).toEqual(expect.arrayContaining(['client_secret_basic', 'private_key_jwt']));
    expect(meta.dpop_signing_alg_values_supported).toBeUndefined();
  });

  test('the ID token verifies against the published JWKS', async () => {
    const f = await fixture('Verify');
    const tokens = await idToken(f);
    const { payload, protectedHeader } = await jwtVerify(tokens.id_token!, createLocalJWKSet((await jwks(f.issuer)) as never), {
      issuer: f.issuer,
      audience: f.app.clientId,
    });
    expect(payload.sub).toBe(f.user.userId);
    expect(protectedHeader.alg).toBe('RS256');
  });
});

describe('signing keys', () => {
  test('rotation publishes the next key before it signs, and keeps the old one until its tokens expired', async () => {
    const f = await fixture('Rotate');
    const [original] = (await jwks(f.issuer)).keys;
    const publish = () => rt.deps.changes.publish(f.inst.instanceId);

    const step1 = await rotateSigningKeys(f.inst.scope, rt.deps.box, { retainS: 2 });
    await publish();
    expect(step1.published).toBeTruthy();
    const afterPublish = (await jwks(f.issuer)).keys;
    expect(afterPublish.map((k) => k.kid).sort()).toEqual([original.kid, step1.published].sort());
    expect(afterPublish.find((k) => k.kid === step1.published)!.key_ops).toEqual(['verify']);
    expect(decodeProtectedHeader((await idToken(f)).id_token!).kid).toBe(original.kid);

    const step2 = await rotateSigningKeys(f.inst.scope, rt.deps.box, { retainS: 2 });
    await publish();
    expect(step2).toEqual({ activated: step1.published, retired: original.kid });
    const tokens = await idToken(f);
    expect(decodeProtectedHeader(tokens.id_token!).kid).toBe(step1.published);
    expect((await jwks(f.issuer)).keys.map((k) => k.kid).sort()).toEqual([original.kid, step1.published].sort());

    // The retired key leaves the JWKS when its retention has passed: wait for that moment itself.
    const retired = (await listSigningKeys(f.inst.scope)).find((k) => k.kid === original.kid)!;
    await clockReaches(retired.remove_after!.getTime() + 1);
    await publish();
    expect((await jwks(f.issuer)).keys.map((k) => k.kid)).toEqual([step1.published]);
  });

  test('ES256 is available: after rotating to it, ID tokens are ES256', async () => {
    const f = await fixture('ES256');
    await rotateSigningKeys(f.inst.scope, rt.deps.box, { retainS: 60, alg: 'ES256' });
    await rotateSigningKeys(f.inst.scope, rt.deps.box, { retainS: 60 });
    await rt.deps.changes.publish(f.inst.instanceId);
    const tokens = await idToken(f);
    expect(decodeProtectedHeader(tokens.id_token!).alg).toBe('ES256');
    await jwtVerify(tokens.id_token!, createLocalJWKSet((await jwks(f.issuer)) as never), { issuer: f.issuer });
  });

  test('`tessera keys rotate` in another process reaches this one through Redis', async () => {
    const f = await fixture('CLI');
    const before = (await jwks(f.issuer)).keys.length;
    const env = { ...process.env, DATABASE_URL: TEST_DATABASE_URL, REDIS_URL: TEST_REDIS_URL, TESSERA_MASTER_KEY: TEST_MASTER_KEY, LOG_LEVEL: 'silent' };
    const { stdout } = await run('node_modules/.bin/tsx', ['src/cli/main.ts', 'keys', 'rotate', '--instance', f.inst.instanceId, '--alg', 'ES256'], { env });
    expect(stdout).toContain('published next key');
    const after = (
      await eventually(
        () => jwks(f.issuer),
        (j) => j.keys.length > before,
      )
    ).keys;
    expect(after).toHaveLength(before + 1);
    expect(after.map((k) => k.alg)).toContain('ES256');
    await expect(run('node_modules/.bin/tsx', ['src/cli/main.ts', 'keys', 'rotate', '--alg', 'HS256'], { env })).rejects.toMatchObject({ code: 2 });
  }, 60_000);
});

describe('changes reach the provider without a restart', () => {
  test('token lifetimes come from the instance settings when each token is issued', async () => {
    const f = await fixture('TTL');
    expect((await idToken(f)).expires_in).toBe(43200);
    await f.inst.scope.table('instances').update({ access_token_lifetime_s: 600 });
    await rt.deps.changes.publish(f.inst.instanceId);
    expect((await idToken(f)).expires_in).toBe(600);
  });

  test('a second process sharing the database and Redis sees an application change at once', async () => {
    const rt2 = await testRuntime();
    const server2 = await serveApp(rt2);
    try {
      const f = await fixture('TwoProcs');
      const at2 = { ...f.rp, issuer: `http://${f.inst.domain}:${server2.port}` };
      const config2 = await discover(at2);
      await login(config2, at2, { loginName: f.user.loginName, password: f.user.password });
      const newUri = `${f.app.redirectUri}/v2`;
      await f.inst.scope
        .table('applications')
        .where({ id: f.app.appId })
        .update({ redirect_uris: JSON.stringify([newUri]) });
      const heard = noticesHeard(rt2.deps.changes, f.inst.instanceId);
      await rt.deps.changes.publish(f.inst.instanceId); // published by process 1, heard by process 2
      await heard;
      const { callback } = await login(config2, { ...at2, redirectUri: newUri }, { loginName: f.user.loginName, password: f.user.password });
      expect(callback!.href.startsWith(newUri)).toBe(true);
    } finally {
      await server2.close();
      await rt2.close();
    }
  });
});

describe('the provider pool', () => {
  test("stays bounded, and a change notice drops only the changed instance's provider", async () => {
    const config = { ...rt.config, oidc: { ...rt.config.oidc, providerCacheSize: 2 } };
    const pool = new ProviderPool({ knex: rt.db.knex, box: rt.deps.box, hasher: rt.deps.hasher, config, log: rt.log }, rt.deps.changes);
    try {
      const insts = [await testInstance(rt, 'P1'), await testInstance(rt, 'P2'), await testInstance(rt, 'P3')];
      const origin = (i: TestInstance) => `http://${i.domain}`;
      for (const i of insts) await pool.get(i.instanceId, origin(i));
      expect(pool.size).toBe(2);
      const p2 = await pool.get(insts[1].instanceId, origin(insts[1]));
      const p3 = await pool.get(insts[2].instanceId, origin(insts[2]));
      expect(await pool.get(insts[2].instanceId, origin(insts[2]))).toBe(p3);
      // The publishing process hears its own notice before publish() returns.
      await rt.deps.changes.publish(insts[2].instanceId);
      expect(await pool.get(insts[2].instanceId, origin(insts[2]))).not.toBe(p3);
      expect(await pool.get(insts[1].instanceId, origin(insts[1]))).toBe(p2);
      // Each origin of an instance is its own issuer.
      expect((await pool.get(insts[1].instanceId, 'https://other.example')).issuer).toBe('https://other.example');
    } finally {
      await pool.close();
    }
  });

  test('a burst on a cold instance builds its provider once; a rebuilt provider does not verify a machine secret with argon2 again', async () => {
    let builds = 0;
    let verifies = 0;
    const metrics = { providerBuilt: () => builds++, watchProviderPool: () => undefined, cache: () => undefined } as any;
    const hasher: typeof rt.deps.hasher = Object.assign(Object.create(rt.deps.hasher), {
      verify: (hash: string, pw: string) => (verifies++, rt.deps.hasher.verify(hash, pw)),
    });
    const pool = new ProviderPool({ knex: rt.db.knex, box: rt.deps.box, hasher, config: rt.config, log: rt.log, metrics }, rt.deps.changes);
    try {
      const inst = await testInstance(rt, 'Burst');
      const origin = `http://${inst.domain}`;
      const burst = await Promise.all(Array.from({ length: 20 }, () => pool.get(inst.instanceId, origin)));
      expect(new Set(burst).size).toBe(1);
      expect(builds).toBe(1);

      const machine = await addMachine(rt, inst.scope, inst.orgId);
      expect(await burst[0].clients.verifySecret(machine.clientId, machine.clientSecret)).toBe(true);
      expect(await burst[0].clients.verifySecret(machine.clientId, machine.clientSecret)).toBe(true);
      expect(verifies).toBe(1);
      await rt.deps.changes.publish(inst.instanceId);
      const rebuilt = await pool.get(inst.instanceId, origin);
      expect(rebuilt).not.toBe(burst[0]);
      expect(builds).toBe(2);
      expect(await rebuilt.clients.verifySecret(machine.clientId, machine.clientSecret)).toBe(true);
      expect(verifies).toBe(1);
      // A wrong secret is still checked, and refused.
      expect(await rebuilt.clients.verifySecret(machine.clientId, 'wrong')).toBe(false);
      expect(verifies).toBe(2);
    } finally {
      await pool.close();
    }
  });
});

describe('storage', () => {
  test('without Redis, short-lived state lives in PostgreSQL and expired rows are swept', async () => {
    const rtPg = await testRuntime({ redis: { url: '' } });
    const serverPg = await serveApp(rtPg);
    try {
      const f = await fixture('NoRedis', serverPg.port, rtPg);
      const config = await discover(f.rp);
      const { tokens } = await login(config, f.rp, { loginName: f.user.loginName, password: f.user.password });
      expect((await client.fetchUserInfo(config, tokens.access_token, f.user.userId)).sub).toBe(f.user.userId);
      const models = await f.inst.scope.table('oidc_payloads').distinct('model').pluck('model');
      expect(models).toEqual(expect.arrayContaining(['AccessToken', 'AuthorizationCode', 'Session', 'Grant']));
      await f.inst.scope
        .table('oidc_payloads')
        .where({ model: 'AccessToken' })
        .update({ expires_at: new Date(Date.now() - 1000) });
      expect(await sweepExpiredPayloads(rtPg.db.knex)).toBeGreaterThanOrEqual(1);
      const left = await f.inst.scope.table('oidc_payloads').where({ model: 'AccessToken' }).count({ n: '*' }).first();
      expect(Number(left.n)).toBe(0);
    } finally {
      await serverPg.close();
      await rtPg.close();
    }
  });

  test('with Redis, sessions and grants are durable in PostgreSQL and short-lived state is not', async () => {
    const f = await fixture('Durable');
    await idToken(f);
    const models = await f.inst.scope.table('oidc_payloads').distinct('model').pluck('model');
    expect(models.sort()).toEqual(['Grant', 'Session']);
  });

  test('sessions survive a restart: a new runtime honours prompt=none', async () => {
    const f = await fixture('Restart');
    const config = await discover(f.rp);
    const { browser } = await login(config, f.rp, { loginName: f.user.loginName, password: f.user.password });
    const rt2 = await testRuntime();
    const server2 = await serveApp(rt2);
    try {
      const at2 = { ...f.rp, issuer: `http://${f.inst.domain}:${server2.port}` };
      const { authorize } = await import('../support/rp.js');
      const bHost = new URL(at2.issuer).host;
      browser.cookies = browser.cookies.map((c) => ({ ...c, host: bHost }));
      const out = await authorize(await discover(at2), at2, { browser, params: { prompt: 'none' } });
      expect(out.callback!.searchParams.get('code')).toBeTruthy();
    } finally {
      await server2.close();
      await rt2.close();
    }
  });
});
