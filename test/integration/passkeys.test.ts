import { testInstance, testRuntime, type TestInstance } from '../support/runtime.js';
import type { Runtime } from '../../src/runtime/index.js';
import { createHumanUser } from '../../src/domain/user/service.js';
import { addMember } from '../../src/domain/membership/service.js';
import {
  finishPasskeyRegistration,
  removePasskey,
  renamePasskey,
  startPasskeyAuthentication,
  startPasskeyRegistration,
  verifyPasskeyAssertion,
  type RelyingParty,
} from '../../src/domain/passkey/service.js';
import { listPasskeys } from '../../src/domain/passkey/queries.js';
import { listEvents } from '../../src/domain/audit/repository.js';
import { createIdp, linkUserToIdp, unlinkUser } from '../../src/domain/idp/service.js';
import { SoftAuthenticator } from '../support/soft-authenticator.js';
import { redisChallenges } from '../../src/domain/passkey/challenge-store.js';
import { callRedis, redisConnections, type RedisClient } from '../../src/shared/redis.js';
import { ServiceUnavailable } from '../../src/shared/unavailable.js';
import { redisKeyPrefix } from '../../src/shared/redis-keys.js';
import { contexts } from './identity-support.js';

/**
 * The passkey domain, through its services: registration and authentication ceremonies answered
 * by a software authenticator, and the security rules each one must hold.
 */
let rt: Runtime;
let A: TestInstance;
let B: TestInstance;
let redis: RedisClient;
beforeAll(async () => {
  rt = await testRuntime();
  [A, B] = await Promise.all([testInstance(rt, 'Passkeys A'), testInstance(rt, 'Passkeys B')]);
  redis = rt.redis!.commands('test');
});
afterAll(async () => {
  await rt.close();
});

const rpOf = (inst: TestInstance): RelyingParty => ({ rpId: inst.domain, origin: `https://${inst.domain}`, name: 'Tessera' });
let n = 0;

async function human(inst: TestInstance) {
  const c = contexts(rt, inst);
  const username = `pk${++n}`;
  const { id } = await createHumanUser(c.system(), {
    orgId: inst.orgId,
    username,
    email: `${username}@${inst.domain}`,
    emailVerified: true,
    password: 'Passw0rd!x',
  });
  return { id, self: c.as(id, inst.orgId) };
}

/** Registers a passkey of `authenticator` for the user, the way the account page does. */
async function register(inst: TestInstance, user: Awaited<ReturnType<typeof human>>, authenticator: SoftAuthenticator, name?: string) {
  const rp = rpOf(inst);
  const { challengeId, options } = await startPasskeyRegistration(user.self, user.id, { rp, binding: 'session-1' });
  return finishPasskeyRegistration(user.self, user.id, { challengeId, binding: 'session-1', response: authenticator.create(options, rp.origin), name });
}

/** A passwordless sign-in (no user given) or a second factor (userId given) at `inst`. */
async function signIn(inst: TestInstance, authenticator: SoftAuthenticator, opts: { userId?: string; origin?: string; binding?: string } = {}) {
  const rp = rpOf(inst);
  const { challengeId, options } = await startPasskeyAuthentication({ scope: inst.scope, deps: rt.deps }, { rp, binding: 'login-1', userId: opts.userId });
  const response = authenticator.get(options, opts.origin ?? rp.origin);
  return verifyPasskeyAssertion({ scope: inst.scope, deps: rt.deps }, { challengeId, binding: opts.binding ?? 'login-1', response });
}

const eventTypes = async (inst: TestInstance, userId: string) => (await listEvents(inst.scope, { resourceId: userId, limit: 1000 })).map((e) => e.type);

test('a passkey registers with its counter and backup flags, then signs in alone', async () => {
  const u = await human(A);
  const key = new SoftAuthenticator({ backedUp: true });
  const { id, name } = await register(A, u, key, '  My   laptop ');
  expect(name).toBe('My laptop');
  const [stored] = await listPasskeys(u.self, u.id);
  expect(stored).toMatchObject({ id, name: 'My laptop', rpId: A.domain, backupEligible: true, backedUp: true, transports: ['internal'], lastUsedAt: null });

  const r = await signIn(A, key);
  expect(r).toEqual({ ok: true, userId: u.id, passkeyId: id, userVerified: true });
  const row = await A.scope.table('user_passkeys').where({ id }).first();
  expect(Number(row.sign_count)).toBe(2); // 1 at registration, 2 now
  expect(row.last_used_at).not.toBeNull();
  expect(await eventTypes(A, u.id)).toEqual(expect.arrayContaining(['user.passkey.added', 'user.passkey.checked']));
});

test('a passkey registered at one instance is refused at another', async () => {
  const u = await human(A);
  const key = new SoftAuthenticator();
  await register(A, u, key);
  // A's credential answering B's ceremony, signed for B's RP ID or for A's: B's lookup is scoped to B.
  const rp = rpOf(B);
  for (const signedFor of [B.domain, A.domain]) {
    const { challengeId, options } = await startPasskeyAuthentication({ scope: B.scope, deps: rt.deps }, { rp, binding: 'x' });
    const response = key.assert(key.credentials[0], options.challenge, rp.origin, signedFor);
    expect(await verifyPasskeyAssertion({ scope: B.scope, deps: rt.deps }, { challengeId, binding: 'x', response })).toEqual({
      ok: false,
      reason: 'unknown_credential',
    });
  }
  // B cannot start a ceremony for A's domain either.
  await expect(startPasskeyAuthentication({ scope: B.scope, deps: rt.deps }, { rp: rpOf(A), binding: 'x' })).rejects.toMatchObject({ code: 'invalid_input' });
  expect(await signIn(A, key)).toMatchObject({ ok: true, userId: u.id }); // at home it works
});

test('the origin is checked exactly and the RP ID must match the assertion', async () => {
  const u = await human(A);
  const key = new SoftAuthenticator();
  await register(A, u, key);
  for (const origin of [`http://${A.domain}`, `https://${A.domain}:8443`, `https://evil.${A.domain}`]) {
    expect(await signIn(A, key, { origin })).toEqual({ ok: false, reason: 'not_verified' });
  }
  const rp = rpOf(A);
  const { challengeId, options } = await startPasskeyAuthentication({ scope: A.scope, deps: rt.deps }, { rp, binding: 'x' });
  const otherRp = key.assert(key.credentials[0], options.challenge, rp.origin, 'other.example');
  expect(await verifyPasskeyAssertion({ scope: A.scope, deps: rt.deps }, { challengeId, binding: 'x', response: otherRp })).toEqual({
    ok: false,
    reason: 'not_verified',
  });
  expect(await signIn(A, key)).toMatchObject({ ok: true }); // the genuine one still works
});

test('user verification: required to register and for passwordless sign-in, not for a second factor', async () => {
  const u = await human(A);
  const key = new SoftAuthenticator();
  await register(A, u, key);
  const noUv = new SoftAuthenticator({ userVerification: false });
  await expect(register(A, u, noUv)).rejects.toMatchObject({ reason: 'passkey.registration_failed' });
  // The same credential, answered without verifying the user:
  const presenceOnly = Object.assign(key.clone(), { opts: { userVerification: false } }) as SoftAuthenticator;
  expect(await signIn(A, presenceOnly)).toEqual({ ok: false, reason: 'not_verified' });
  expect(await signIn(A, presenceOnly, { userId: u.id })).toMatchObject({ ok: true, userVerified: false });
});

test('a cloned authenticator whose counter does not move forward is refused and recorded', async () => {
  const u = await human(A);
  const key = new SoftAuthenticator();
  await register(A, u, key);
  const copy = key.clone();
  expect(await signIn(A, key)).toMatchObject({ ok: true }); // counter 2
  expect(await signIn(A, copy)).toEqual({ ok: false, reason: 'counter_regressed' }); // the copy says 2 again
  expect(await eventTypes(A, u.id)).toContain('user.passkey.counter_regressed');
  expect(await signIn(A, key)).toMatchObject({ ok: true }); // the original goes on: 3
  // Authenticators without a counter (synced passkeys report 0) are not refused for it.
  const synced = new SoftAuthenticator({ counterStep: 0 });
  await register(A, await human(A), synced);
  expect(await signIn(A, synced)).toMatchObject({ ok: true });
  expect(await signIn(A, synced)).toMatchObject({ ok: true });
});

test('a challenge works once, only for its own interaction, and only for its purpose', async () => {
  const u = await human(A);
  const key = new SoftAuthenticator();
  await register(A, u, key);
  const rp = rpOf(A);
  const { challengeId, options } = await startPasskeyAuthentication({ scope: A.scope, deps: rt.deps }, { rp, binding: 'login-1' });
  const response = key.get(options, rp.origin);
  expect(await verifyPasskeyAssertion({ scope: A.scope, deps: rt.deps }, { challengeId, binding: 'login-2', response })).toEqual({
    ok: false,
    reason: 'challenge_invalid',
  });
  // The wrong binding consumed it: the genuine interaction must start again.
  expect(await verifyPasskeyAssertion({ scope: A.scope, deps: rt.deps }, { challengeId, binding: 'login-1', response })).toEqual({
    ok: false,
    reason: 'challenge_invalid',
  });
  expect(await signIn(A, key)).toMatchObject({ ok: true });
  // An expired ceremony (in PostgreSQL, where a row outlives its expiry until swept; Redis drops it by TTL):
  const inDatabase = { scope: A.scope, deps: {} };
  const late = await startPasskeyAuthentication(inDatabase, { rp, binding: 'login-1' });
  await A.scope
    .table('webauthn_challenges')
    .where({ id: late.challengeId })
    .update({ expires_at: new Date(Date.now() - 1000) });
  expect(await verifyPasskeyAssertion(inDatabase, { challengeId: late.challengeId, binding: 'login-1', response: key.get(late.options, rp.origin) })).toEqual({
    ok: false,
    reason: 'challenge_invalid',
  });
  // A registration challenge does not verify an assertion.
  const reg = await startPasskeyRegistration(u.self, u.id, { rp, binding: 'login-1' });
  expect(
    await verifyPasskeyAssertion(
      { scope: A.scope, deps: rt.deps },
      { challengeId: reg.challengeId, binding: 'login-1', response: key.get({ ...options, challenge: reg.options.challenge }, rp.origin) },
    ),
  ).toEqual({ ok: false, reason: 'challenge_invalid' });
});

test('with Redis a challenge waits there, not in PostgreSQL; while Redis is unreachable it goes to PostgreSQL, and works once either way', async () => {
  const u = await human(A);
  const key = new SoftAuthenticator();
  await register(A, u, key);
  const rp = rpOf(A);
  const rows = (id: string) => A.scope.table('webauthn_challenges').where({ id }).select('id');
  const inRedis = await startPasskeyAuthentication({ scope: A.scope, deps: rt.deps }, { rp, binding: 'login-1' });
  expect(await rows(inRedis.challengeId)).toEqual([]);
  expect(await callRedis(redis, (r) => r.exists(`${redisKeyPrefix.webauthn(A.instanceId)}${inRedis.challengeId}`))).toBe(1);
  const answer = key.get(inRedis.options, rp.origin);
  expect(
    await verifyPasskeyAssertion({ scope: A.scope, deps: rt.deps }, { challengeId: inRedis.challengeId, binding: 'login-1', response: answer }),
  ).toMatchObject({
    ok: true,
  });
  expect(await verifyPasskeyAssertion({ scope: A.scope, deps: rt.deps }, { challengeId: inRedis.challengeId, binding: 'login-1', response: answer })).toEqual({
    ok: false,
    reason: 'challenge_invalid',
  });
  // A Redis nobody answers on: the ceremony starts all the same, with its challenge in PostgreSQL…
  const unreachable = redisConnections({ url: 'redis://127.0.0.1:1', mode: 'standalone', commandTimeoutMs: 200, connectTimeoutMs: 200 });
  try {
    const duringOutage = await startPasskeyAuthentication(
      { scope: A.scope, deps: { challenges: redisChallenges(unreachable.commands('down')) } },
      { rp, binding: 'login-1' },
    );
    expect(await rows(duringOutage.challengeId)).toEqual([{ id: duringOutage.challengeId }]);
    // …where a process whose Redis is up finds it, once.
    const late = key.get(duringOutage.options, rp.origin);
    const check = (response: unknown) =>
      verifyPasskeyAssertion({ scope: A.scope, deps: rt.deps }, { challengeId: duringOutage.challengeId, binding: 'login-1', response });
    expect(await check(late)).toMatchObject({ ok: true });
    expect(await check(late)).toEqual({ ok: false, reason: 'challenge_invalid' });
  } finally {
    unreachable.close();
  }
});

test('while Redis is unreachable, an answer to a challenge waiting in Redis is unavailable (503), never refused; it works once Redis answers', async () => {
  const u = await human(A);
  const key = new SoftAuthenticator();
  await register(A, u, key);
  const rp = rpOf(A);
  const started = await startPasskeyAuthentication({ scope: A.scope, deps: rt.deps }, { rp, binding: 'login-1' });
  const answer = { challengeId: started.challengeId, binding: 'login-1', response: key.get(started.options, rp.origin) };
  const unreachable = redisConnections({ url: 'redis://127.0.0.1:1', mode: 'standalone', commandTimeoutMs: 200, connectTimeoutMs: 200 });
  try {
    const down = { scope: A.scope, deps: { challenges: redisChallenges(unreachable.commands('down')) } };
    const refused = await verifyPasskeyAssertion(down, answer).catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(ServiceUnavailable);
    expect(refused).toMatchObject({ status: 503, dependency: 'redis' });
    // A ceremony started during the outage is answered during it, from PostgreSQL.
    const during = await startPasskeyAuthentication(down, { rp, binding: 'login-2' });
    expect(
      await verifyPasskeyAssertion(down, { challengeId: during.challengeId, binding: 'login-2', response: key.get(during.options, rp.origin) }),
    ).toMatchObject({
      ok: true,
    });
  } finally {
    unreachable.close();
  }
  // (a new signature: the authenticator's counter has moved on since)
  expect(await verifyPasskeyAssertion({ scope: A.scope, deps: rt.deps }, { ...answer, response: key.get(started.options, rp.origin) })).toMatchObject({
    ok: true,
  });
});

test("as a second factor, only the signed-in user's own passkey counts", async () => {
  const alice = await human(A);
  const bob = await human(A);
  const aliceKey = new SoftAuthenticator();
  const bobKey = new SoftAuthenticator();
  await register(A, alice, aliceKey);
  await register(A, bob, bobKey);
  const rp = rpOf(A);
  const { challengeId, options } = await startPasskeyAuthentication({ scope: A.scope, deps: rt.deps }, { rp, binding: 'l', userId: alice.id });
  expect(options.allowCredentials?.map((c) => c.id)).toEqual([aliceKey.credentials[0].id.toString('base64url')]);
  const bobs = bobKey.assert(bobKey.credentials[0], options.challenge, rp.origin);
  expect(await verifyPasskeyAssertion({ scope: A.scope, deps: rt.deps }, { challengeId, binding: 'l', response: bobs })).toEqual({
    ok: false,
    reason: 'wrong_user',
  });
  expect(await signIn(A, aliceKey, { userId: alice.id })).toMatchObject({ ok: true, userId: alice.id });
});

test("a removed passkey stops working; renaming and removing are the user's or a manager's", async () => {
  const u = await human(A);
  const other = await human(A);
  const key = new SoftAuthenticator();
  const { id } = await register(A, u, key);
  await expect(renamePasskey(other.self, u.id, id, 'Mine now')).rejects.toMatchObject({ code: 'permission_denied' });
  await expect(removePasskey(other.self, u.id, id)).rejects.toMatchObject({ code: 'permission_denied' });
  await expect(listPasskeys(other.self, u.id)).rejects.toMatchObject({ code: 'permission_denied' });
  await expect(renamePasskey(u.self, u.id, id, ' ')).rejects.toMatchObject({ code: 'invalid_input' });
  await renamePasskey(u.self, u.id, id, 'Phone');
  expect((await listPasskeys(u.self, u.id))[0].name).toBe('Phone');

  const manager = await human(A);
  await addMember(contexts(rt, A).system(), { userId: manager.id, level: 'org', orgId: A.orgId, roles: ['ORG_USER_MANAGER'] });
  expect(await listPasskeys(manager.self, u.id)).toHaveLength(1);
  await removePasskey(manager.self, u.id, id);
  expect(await listPasskeys(u.self, u.id)).toEqual([]);
  expect(await signIn(A, key)).toEqual({ ok: false, reason: 'unknown_credential' });
  await expect(removePasskey(u.self, u.id, id)).rejects.toMatchObject({ code: 'not_found' });
  const removed = (await listEvents(A.scope, { resourceId: u.id, limit: 1000 })).find((e) => e.type === 'user.passkey.removed')!;
  expect(removed.actor_id).toBe(manager.id);
});

test('users cannot unlink their last way to sign in; a passkey or a password counts as another way', async () => {
  const c = contexts(rt, A);
  const { id } = await createHumanUser(c.system(), { orgId: A.orgId, username: `nopw${++n}`, email: `nopw${n}@${A.domain}` }); // no password
  const self = c.as(id, A.orgId);
  const idp = (await createIdp(c.system(), { name: `Corp ${n}`, issuer: 'https://idp.example', clientId: 'c', clientSecret: 's' })).id;
  await linkUserToIdp(c.system(), { idpId: idp, externalUserId: `ext-${n}-1`, userId: id });
  await linkUserToIdp(c.system(), { idpId: idp, externalUserId: `ext-${n}-2`, userId: id });
  await unlinkUser(self, { idpId: idp, externalUserId: `ext-${n}-1` }); // another link remains
  await expect(unlinkUser(self, { idpId: idp, externalUserId: `ext-${n}-2` })).rejects.toMatchObject({ reason: 'user.last_sign_in_method' });
  await register(A, { id, self }, new SoftAuthenticator());
  await unlinkUser(self, { idpId: idp, externalUserId: `ext-${n}-2` }); // the passkey remains
  expect(await A.scope.table('user_idp_links').where({ user_id: id })).toEqual([]);
});
