import { Redis } from 'ioredis';
import { loginWorld, LoginSession, type LoginWorld } from './login-support.js';
import { addHuman } from '../support/rp.js';
import { request } from './api-client.js';
import { TEST_REDIS_URL } from '../support/env.js';

/**
 * Deleting an instance leaves nothing of it behind in Redis: provider state (interactions, codes,
 * access tokens, grant lists) and the login throttle's counters go with it, not when their TTLs
 * run out. Another instance's keys stay.
 */
const SYSTEM_KEY = 'system-key-for-instance-deletion';
let doomed: LoginWorld;
let bystander: LoginWorld;
let redis: Redis;
beforeAll(async () => {
  doomed = await loginWorld('Doomed', { systemApiKeys: [{ id: 'ops', key: SYSTEM_KEY }] });
  bystander = await loginWorld('Bystander');
  redis = new Redis(TEST_REDIS_URL);
});
afterAll(async () => {
  redis.disconnect();
  await doomed.close();
  await bystander.close();
});

/** Every key in Redis that names the instance, found as an operator would (SCAN, not KEYS). */
async function keysNaming(instanceId: string): Promise<string[]> {
  const found: string[] = [];
  for await (const batch of redis.scanStream({ match: `*${instanceId}*`, count: 1000 })) found.push(...(batch as string[]));
  return found;
}

/** A login that leaves what a login leaves: an interaction, a code, tokens, and one failed password on the throttle. */
async function useInstance(w: LoginWorld): Promise<void> {
  const u = await addHuman(w.rt, w.inst.scope, w.inst.orgId);
  const failed = await new LoginSession(w).start();
  await failed.password(u.loginName, 'not-the-password');
  const s = await new LoginSession(w).start();
  await s.password(u.loginName, u.password);
  await s.tokens();
  await new LoginSession(w).start(); // an interaction left open
}

test("DELETE /system/v1/instances/{id} removes the instance's Redis keys at once, and only its own", async () => {
  await useInstance(doomed);
  await useInstance(bystander);
  const before = await keysNaming(doomed.inst.instanceId);
  expect(before.some((k) => k.startsWith(`tessera:oidc:${doomed.inst.instanceId}:`))).toBe(true);
  expect(before.some((k) => k.startsWith('tessera:login:'))).toBe(true);
  // The login pages' passkey ceremonies:
  expect(before.some((k) => k.startsWith(`tessera:webauthn:${doomed.inst.instanceId}:`))).toBe(true);
  const bystanderKeys = await keysNaming(bystander.inst.instanceId);
  expect(bystanderKeys.length).toBeGreaterThan(0);

  const deleted = await request(doomed.server.port, doomed.inst.domain, 'DELETE', `/system/v1/instances/${doomed.inst.instanceId}`, { token: SYSTEM_KEY });
  expect(deleted.status).toBe(204);
  expect(await keysNaming(doomed.inst.instanceId)).toEqual([]);
  expect((await keysNaming(bystander.inst.instanceId)).sort()).toEqual(bystanderKeys.sort());
});
