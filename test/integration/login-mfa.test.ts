import { testRuntime, testInstance, type TestInstance } from '../support/runtime.js';
import type { Runtime } from '../../src/runtime/index.js';
import type { ServiceContext } from '../../src/domain/deps.js';
import { systemPrincipal } from '../../src/domain/principal.js';
import { createHumanUser } from '../../src/domain/user/service.js';
import {
  BLOCK_MS,
  MAX_FAILED_CODES,
  confirmTotpEnrolment,
  currentStep,
  hasVerifiedTotp,
  regenerateRecoveryCodes,
  remainingRecoveryCodes,
  startTotpEnrolment,
  totpCodeAt,
  verifySecondFactor,
} from '../../src/domain/mfa/service.js';

let rt: Runtime;
let inst: TestInstance;
beforeAll(async () => {
  rt = await testRuntime();
  inst = await testInstance(rt, 'Mfa');
});
afterAll(async () => {
  await rt.close();
});

const sys = (): ServiceContext => ({ deps: rt.deps, scope: inst.scope, actor: systemPrincipal });
let n = 0;
async function newUser(): Promise<{ id: string; ctx: ServiceContext }> {
  const { id } = await createHumanUser(sys(), { orgId: inst.orgId, username: `mfa${++n}`, email: `mfa${n}@example.com`, password: 'Passw0rd!x' });
  return { id, ctx: { deps: rt.deps, scope: inst.scope, actor: { type: 'user', userId: id, orgId: inst.orgId, authTime: Math.floor(Date.now() / 1000) } } };
}

async function enrol(ctx: ServiceContext, userId: string) {
  const e = await startTotpEnrolment(ctx, userId, { issuer: 'Tessera', accountName: 'someone' });
  const step = currentStep();
  const { recoveryCodes } = await confirmTotpEnrolment(ctx, userId, totpCodeAt(e.secret, step));
  return { ...e, step, recoveryCodes };
}

test('enrolment gives a QR code and a manual key, stores the secret encrypted, and needs a first code', async () => {
  const { id, ctx } = await newUser();
  const e = await startTotpEnrolment(ctx, id, { issuer: 'Acme', accountName: 'mfa@acme.test' });
  expect(e.qrDataUrl).toMatch(/^data:image\/png;base64,/);
  expect(e.uri).toContain(`secret=${e.secret}`);
  expect(e.uri).toContain('issuer=Acme');
  const row = await inst.scope.table('user_totp').where({ user_id: id }).first();
  expect(row.secret_enc).not.toContain(e.secret);
  expect(rt.deps.box.decrypt(row.secret_enc)).toBe(e.secret);
  expect(await hasVerifiedTotp(ctx, id)).toBe(false);
  await expect(confirmTotpEnrolment(ctx, id, '000000')).rejects.toMatchObject({ reason: 'mfa.invalid_code' });
  const { recoveryCodes } = await confirmTotpEnrolment(ctx, id, totpCodeAt(e.secret, currentStep()));
  expect(recoveryCodes).toHaveLength(10);
  expect(await hasVerifiedTotp(ctx, id)).toBe(true);
  const stored = await inst.scope.table('user_recovery_codes').where({ user_id: id }).pluck('code_hash');
  expect(stored).not.toContain(recoveryCodes[0]);
});

test('a TOTP code works once: the same code, or an older one, is refused after use', async () => {
  const { id, ctx } = await newUser();
  const e = await enrol(ctx, id);
  // The enrolment code itself was used, so replaying it fails.
  expect(await verifySecondFactor(ctx, id, totpCodeAt(e.secret, e.step))).toEqual({ ok: false });
  const next = totpCodeAt(e.secret, e.step + 1);
  expect(await verifySecondFactor(ctx, id, next, (e.step + 1) * 30_000)).toEqual({ ok: true, method: 'totp' });
  expect(await verifySecondFactor(ctx, id, next, (e.step + 1) * 30_000)).toEqual({ ok: false });
  expect(await verifySecondFactor(ctx, id, totpCodeAt(e.secret, e.step), (e.step + 1) * 30_000)).toEqual({ ok: false });
});

test('two concurrent checks with the same code: exactly one succeeds', async () => {
  const { id, ctx } = await newUser();
  const e = await enrol(ctx, id);
  const code = totpCodeAt(e.secret, e.step + 1);
  const results = await Promise.all([1, 2, 3].map(() => verifySecondFactor(ctx, id, code, (e.step + 1) * 30_000)));
  expect(results.filter((r) => r.ok)).toHaveLength(1);
});

test('each recovery code works once, and regenerating them voids the old ones', async () => {
  const { id, ctx } = await newUser();
  const e = await enrol(ctx, id);
  expect(await verifySecondFactor(ctx, id, e.recoveryCodes[0].toLowerCase())).toEqual({ ok: true, method: 'recovery_code' });
  expect(await verifySecondFactor(ctx, id, e.recoveryCodes[0])).toEqual({ ok: false });
  expect(await remainingRecoveryCodes(ctx, id)).toBe(9);
  const { recoveryCodes } = await regenerateRecoveryCodes(ctx, id);
  expect(await verifySecondFactor(ctx, id, e.recoveryCodes[1])).toEqual({ ok: false });
  expect(await verifySecondFactor(ctx, id, recoveryCodes[1])).toEqual({ ok: true, method: 'recovery_code' });
});

test(`after ${MAX_FAILED_CODES} wrong codes even the right code is refused until the pause ends`, async () => {
  const { id, ctx } = await newUser();
  const e = await enrol(ctx, id);
  for (let i = 0; i < MAX_FAILED_CODES; i++)
    expect(await verifySecondFactor(ctx, id, '123456' === totpCodeAt(e.secret, e.step + 1) ? '654321' : '123456')).toEqual({ ok: false });
  await expect(verifySecondFactor(ctx, id, totpCodeAt(e.secret, e.step + 1), (e.step + 1) * 30_000)).rejects.toMatchObject({
    reason: 'mfa.too_many_attempts',
    status: 429,
  });
  await expect(verifySecondFactor(ctx, id, e.recoveryCodes[0])).rejects.toMatchObject({ reason: 'mfa.too_many_attempts' });
  // Once the pause is over, the factor works again.
  await inst.scope
    .table('user_totp')
    .where({ user_id: id })
    .update({ blocked_until: new Date(Date.now() - 1) });
  expect(BLOCK_MS).toBeGreaterThan(0);
  expect(await verifySecondFactor(ctx, id, e.recoveryCodes[0])).toEqual({ ok: true, method: 'recovery_code' });
});

test('another user without user.credential.write cannot enrol a factor for someone else', async () => {
  const a = await newUser();
  const b = await newUser();
  await expect(startTotpEnrolment(a.ctx, b.id, { issuer: 'x', accountName: 'y' })).rejects.toMatchObject({ code: 'permission_denied' });
  const e = await enrol(a.ctx, a.id);
  await expect(startTotpEnrolment(a.ctx, a.id, { issuer: 'x', accountName: 'y' })).rejects.toMatchObject({ reason: 'mfa.totp_already_enrolled' });
  expect(e.recoveryCodes).toHaveLength(10);
});
