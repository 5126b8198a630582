import { testRuntime, testInstance, type TestInstance } from '../support/runtime.js';
import { redisConnections } from '../../src/shared/redis.js';
import type { Runtime } from '../../src/runtime/index.js';
import type { ServiceContext, ServiceDeps } from '../../src/domain/deps.js';
import { systemPrincipal } from '../../src/domain/principal.js';
import { createHumanUser, unlockUser } from '../../src/domain/user/service.js';
import { getUser, type UserRow } from '../../src/domain/user/repository.js';
import { setOrgPolicy } from '../../src/domain/policy/service.js';
import { createOrg } from '../../src/domain/org/service.js';
import { listEvents } from '../../src/domain/audit/repository.js';
import { defaultThrottleLimits, LoginThrottle } from '../../src/login/throttle.js';
import { loadConfig } from '../../src/config/load.js';
import { addHuman } from '../support/rp.js';
import { loginWorld, LoginSession } from './login-support.js';
import { checkPassword } from '../../src/login/password-check.js';
import { PasswordHasher } from '../../src/shared/crypto.js';
import { newId } from '../../src/shared/ids.js';

let rt: Runtime;
let inst: TestInstance;
const throttles: { close(): Promise<void> }[] = [];
beforeAll(async () => {
  rt = await testRuntime();
  inst = await testInstance(rt, 'Throttle');
});
afterAll(async () => {
  await Promise.all(throttles.map((t) => t.close()));
  await rt.close();
});

/** A hasher that counts how often argon2 runs. */
class CountingHasher extends PasswordHasher {
  verifies = 0;
  override async verify(hash: string | null | undefined, secret: string): Promise<boolean> {
    this.verifies++;
    return super.verify(hash, secret);
  }
}

function env(opts: { redis?: boolean; perAccount?: number; perAddress?: number; scope?: TestInstance['scope'] } = {}) {
  const hasher = new CountingHasher(rt.config.passwordHashing);
  const deps: ServiceDeps = { ...rt.deps, hasher };
  const throttle = new LoginThrottle({
    redis: opts.redis === false ? undefined : rt.redis!.commands('throttle-test'),
    prefix: `tessera:test:${newId()}`,
    limits: { perAccount: opts.perAccount ?? 100, perAddress: opts.perAddress ?? 1000 },
  });
  throttles.push(throttle);
  return { scope: opts.scope ?? inst.scope, deps, throttle, hasher };
}

const sys = (scope = inst.scope): ServiceContext => ({ deps: rt.deps, scope, actor: systemPrincipal });
let n = 0;
async function newUser(orgId = inst.orgId, scope = inst.scope): Promise<UserRow> {
  const { id } = await createHumanUser(sys(scope), { orgId, username: `t${++n}`, email: `t${n}@example.com`, password: 'Right-Passw0rd' });
  return (await getUser(scope, id))!;
}
const fresh = async (u: UserRow) => (await getUser(inst.scope, u.id))!;

test('after maxPasswordAttempts wrong passwords the user is locked, and the right password then fails like a wrong one', async () => {
  const org = await createOrg(sys(), { name: `Lockout ${newId()}` });
  await setOrgPolicy(sys(), org.id, 'lockout', { maxPasswordAttempts: 3 });
  const e = env();
  const user = await newUser(org.id);
  for (let i = 0; i < 2; i++) {
    expect(await checkPassword(e, { user: await fresh(user), loginName: 'x', password: 'wrong', address: '10.0.0.1' })).toEqual({
      ok: false,
      reason: 'invalid_credentials',
    });
  }
  expect((await fresh(user)).state).toBe('active');
  expect(await checkPassword(e, { user: await fresh(user), loginName: 'x', password: 'wrong', address: '10.0.0.1' })).toEqual({
    ok: false,
    reason: 'invalid_credentials',
  });
  expect(await fresh(user)).toMatchObject({ state: 'locked', failed_password_attempts: 3 });
  expect(await checkPassword(e, { user: await fresh(user), loginName: 'x', password: 'Right-Passw0rd', address: '10.0.0.1' })).toEqual({
    ok: false,
    reason: 'invalid_credentials',
  });
  expect(await listEvents(inst.scope, { resourceId: user.id, type: 'user.locked' })).toHaveLength(1);
  // Each counted wrong password is in the audit trail (the locked user's right one is not counted).
  expect(await listEvents(inst.scope, { resourceId: user.id, type: 'user.password.check.failed' })).toHaveLength(3);

  await unlockUser(sys(), user.id);
  const ok = await checkPassword(e, { user: await fresh(user), loginName: 'x', password: 'Right-Passw0rd', address: '10.0.0.1' });
  expect(ok.ok).toBe(true);
  expect(await fresh(user)).toMatchObject({ state: 'active', failed_password_attempts: 0 });
});

test('a right password resets the failure count; maxPasswordAttempts 0 never locks', async () => {
  const org = await createOrg(sys(), { name: `NoLockout ${newId()}` });
  await setOrgPolicy(sys(), org.id, 'lockout', { maxPasswordAttempts: 0 });
  const e = env();
  const user = await newUser(org.id);
  for (let i = 0; i < 12; i++) await checkPassword(e, { user: await fresh(user), loginName: 'x', password: 'nope', address: '10.0.0.2' });
  expect((await fresh(user)).state).toBe('active');
  const counted = (await fresh(user)).failed_password_attempts;
  expect(counted).toBeGreaterThan(0);
  expect((await checkPassword(e, { user: await fresh(user), loginName: 'x', password: 'Right-Passw0rd', address: '10.0.0.2' })).ok).toBe(true);
  expect((await fresh(user)).failed_password_attempts).toBe(0);
  // Clearing the count is a write like counting: audited, with the count it cleared.
  const cleared = await listEvents(inst.scope, { resourceId: user.id, type: 'user.password.attempts.reset' });
  expect(cleared.map((ev) => ev.payload)).toEqual([{ previous: counted }]);
});

test.each([
  ['Redis', true],
  ['in-memory', false],
])('%s throttle: a flood on one account is refused before argon2 runs', async (_name, redis) => {
  const e = env({ redis, perAccount: 3 });
  const user = await newUser();
  for (let i = 0; i < 3; i++) await checkPassword(e, { user, loginName: 'x', password: 'wrong', address: `10.1.0.${i}` });
  expect(e.hasher.verifies).toBe(3);
  const started = Date.now();
  for (let i = 0; i < 50; i++) {
    const r = await checkPassword(e, { user, loginName: 'x', password: 'Right-Passw0rd', address: `10.2.0.${i}` });
    expect(r).toMatchObject({ ok: false, reason: 'throttled' });
  }
  expect(e.hasher.verifies).toBe(3);
  expect(Date.now() - started).toBeLessThan(2000);
});

test('the throttle of one instance does not touch another instance or another account', async () => {
  const other = await testInstance(rt, 'Other');
  const e = env({ perAccount: 2, perAddress: 4 });
  const user = await newUser();
  for (let i = 0; i < 2; i++) await checkPassword(e, { user, loginName: 'x', password: 'wrong', address: '10.3.0.1' });
  expect(await checkPassword(e, { user, loginName: 'x', password: 'Right-Passw0rd', address: '10.3.0.1' })).toMatchObject({ reason: 'throttled' });
  // Another account from the same address is still checked, and so is the same address in another instance.
  const second = await newUser();
  expect((await checkPassword(e, { user: second, loginName: 'x', password: 'Right-Passw0rd', address: '10.3.0.1' })).ok).toBe(true);
  const { id } = await createHumanUser(sys(other.scope), { orgId: other.orgId, username: 'same', email: 'same@example.com', password: 'Right-Passw0rd' });
  const theirs = (await getUser(other.scope, id))!;
  expect((await checkPassword({ ...e, scope: other.scope }, { user: theirs, loginName: 'x', password: 'Right-Passw0rd', address: '10.3.0.1' })).ok).toBe(true);
});

test('per address: many accounts tried from one address are refused, other addresses are not', async () => {
  const e = env({ perAddress: 5 });
  for (let i = 0; i < 5; i++) await checkPassword(e, { user: undefined, loginName: `nobody${i}`, password: 'guess', address: '10.4.0.9' });
  const user = await newUser();
  expect(await checkPassword(e, { user, loginName: 'x', password: 'Right-Passw0rd', address: '10.4.0.9' })).toMatchObject({ reason: 'throttled' });
  expect((await checkPassword(e, { user, loginName: 'x', password: 'Right-Passw0rd', address: '10.4.0.10' })).ok).toBe(true);
});

test('unknown users and overlong passwords: the same failure; unknown users cost one hash, overlong input none', async () => {
  const e = env();
  expect(await checkPassword(e, { user: undefined, loginName: 'ghost', password: 'whatever', address: '10.5.0.1' })).toEqual({
    ok: false,
    reason: 'invalid_credentials',
  });
  expect(e.hasher.verifies).toBe(1);
  const user = await newUser();
  expect(await checkPassword(e, { user, loginName: 'x', password: 'A1a'.repeat(200), address: '10.5.0.1' })).toEqual({
    ok: false,
    reason: 'invalid_credentials',
  });
  expect(e.hasher.verifies).toBe(1);
});

test('failures counted while a process is still connecting to Redis are seen by every process', async () => {
  // A process at boot: its throttle's connection is brand new and not ready yet.
  const booting = redisConnections(rt.config.redis);
  throttles.push({ close: async () => booting.close() });
  const prefix = `tessera:test:${newId()}`;
  const limits = { perAccount: 3 };
  const starting = new LoginThrottle({ redis: booting.commands('throttle'), prefix, limits });
  const running = new LoginThrottle({ redis: rt.redis!.commands('throttle-running'), prefix, limits });
  const key = { instanceId: inst.instanceId, account: 'booting', address: '10.7.0.1' };
  await Promise.all([starting.fail(key), starting.fail(key), starting.fail(key)]);
  expect(await running.check(key)).toMatchObject({ allowed: false });
  expect(await starting.check(key)).toMatchObject({ allowed: false });
});

test('with Redis unreachable the throttle keeps counting in this process instead of failing logins', async () => {
  const unreachable = redisConnections({ url: 'redis://127.0.0.1:1', mode: 'standalone', commandTimeoutMs: 1000, connectTimeoutMs: 1000 });
  const throttle = new LoginThrottle({ redis: unreachable.commands('throttle'), prefix: `tessera:test:${newId()}`, limits: { perAccount: 2 } });
  throttles.push({ close: async () => unreachable.close() });
  const key = { instanceId: inst.instanceId, account: 'someone', address: '10.6.0.1' };
  await throttle.fail(key);
  await throttle.fail(key);
  expect(await throttle.check(key)).toMatchObject({ allowed: false });
  expect(await throttle.check({ ...key, account: 'someone-else', address: '10.6.0.2' })).toMatchObject({ allowed: true });
});

test('login.throttle defaults come from config/default.yaml; a configured lower limit takes effect on the login pages', async () => {
  expect(loadConfig({}, {}).login.throttle).toEqual(defaultThrottleLimits);
  const w = await loginWorld('ThrottleConfig', { login: { throttle: { perAccount: 2 } } });
  try {
    expect(w.rt.config.login.throttle).toMatchObject({ perAccount: 2, perAddress: 100 });
    const u = await addHuman(w.rt, w.inst.scope, w.inst.orgId, { username: `tc${newId()}` });
    const s = await new LoginSession(w).start();
    await s.submit('/loginname', { loginName: u.loginName });
    for (let i = 0; i < 2; i++) {
      await s.submit('/password', { password: 'Wrong-Passw0rd' });
      expect(s.page.status).toBe(400);
    }
    // The default would allow 10 failures; the configured 2 refuses the third try, even with the right password.
    await s.submit('/password', { password: u.password });
    expect(s.page.status).toBe(429);
    expect(Number(s.page.headers['retry-after'])).toBeGreaterThan(0);
    expect(s.callback).toBeUndefined();
  } finally {
    await w.close();
  }
});
