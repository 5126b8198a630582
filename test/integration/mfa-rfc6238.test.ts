/**
 * TOTP against RFC 6238's own test vectors (Appendix B, SHA-1), not against our code generator:
 * a user whose authenticator holds the RFC's secret is accepted with the RFC's code at the RFC's
 * time, through the same service the login's second-factor step calls. Our codes have 6 digits,
 * the last 6 of the RFC's 8-digit values (both are the same HOTP truncation, mod 10^6 vs 10^8).
 */
import { testRuntime, testInstance, type TestInstance } from '../support/runtime.js';
import type { Runtime } from '../../src/runtime/index.js';
import type { ServiceContext } from '../../src/domain/deps.js';
import { systemPrincipal } from '../../src/domain/principal.js';
import { createHumanUser } from '../../src/domain/user/service.js';
import { confirmTotpEnrolment, hasVerifiedTotp, verifySecondFactor } from '../../src/domain/mfa/service.js';
import { putUnverifiedTotp } from '../../src/domain/mfa/repository.js';

/** The RFC's SHA-1 seed, ASCII "12345678901234567890", in the base32 an authenticator app is given. */
const RFC_SECRET = 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ';
/** Appendix B, SHA-1 rows: time in seconds → the 8-digit TOTP. */
const VECTORS: [timeS: number, totp8: string][] = [
  [59, '94287082'],
  [1111111109, '07081804'],
  [1111111111, '14050471'],
  [1234567890, '89005924'],
  [2000000000, '69279037'],
  [20000000000, '65353130'],
];
const sixDigits = (totp8: string) => totp8.slice(-6);

let rt: Runtime;
let inst: TestInstance;
beforeAll(async () => {
  rt = await testRuntime();
  inst = await testInstance(rt, 'Rfc6238');
});
afterAll(async () => {
  await rt.close();
});

let n = 0;
/** A user who has just scanned the RFC's secret into their app and confirmed it with the code at T = 59 s. */
async function userWithRfcSecret(): Promise<{ id: string; ctx: ServiceContext }> {
  const sys: ServiceContext = { deps: rt.deps, scope: inst.scope, actor: systemPrincipal };
  const { id } = await createHumanUser(sys, { orgId: inst.orgId, username: `rfc${++n}`, email: `rfc${n}@example.com`, password: 'Passw0rd!x' });
  const ctx: ServiceContext = {
    deps: rt.deps,
    scope: inst.scope,
    actor: { type: 'user', userId: id, orgId: inst.orgId, authTime: Math.floor(Date.now() / 1000) },
  };
  // Enrolment as startTotpEnrolment stores it, with the RFC's secret in place of a random one.
  await putUnverifiedTotp(inst.scope, id, rt.deps.box.encrypt(RFC_SECRET));
  const [t, totp8] = VECTORS[0];
  await confirmTotpEnrolment(ctx, id, sixDigits(totp8), t * 1000);
  expect(await hasVerifiedTotp(ctx, id)).toBe(true);
  return { id, ctx };
}

test('RFC 6238 Appendix B: each SHA-1 code is accepted at its time', async () => {
  const { id, ctx } = await userWithRfcSecret();
  for (const [t, totp8] of VECTORS.slice(1)) {
    expect({ t, result: await verifySecondFactor(ctx, id, sixDigits(totp8), t * 1000) }).toEqual({ t, result: { ok: true, method: 'totp' } });
  }
});

test('a code is refused two steps (60 s) before or after its time, and accepted one step after (clock drift)', async () => {
  const { id, ctx } = await userWithRfcSecret();
  const [t, totp8] = VECTORS[2];
  const code = sixDigits(totp8);
  expect(await verifySecondFactor(ctx, id, code, (t - 60) * 1000)).toEqual({ ok: false });
  expect(await verifySecondFactor(ctx, id, code, (t + 60) * 1000)).toEqual({ ok: false });
  expect(await verifySecondFactor(ctx, id, code, (t + 30) * 1000)).toEqual({ ok: true, method: 'totp' });
});
