import { randomBytes } from 'node:crypto';
import { generateSecret, generateSync, generateURI } from 'otplib';
import QRCode from 'qrcode';
import { authorize, isAllowed } from '../authorization.js';
import { DomainError, notFound, permissionDenied, ruleViolation } from '../../shared/errors.js';
import { constantTimeEqual, sha256 } from '../../shared/crypto.js';
import { appendEvent } from '../audit/repository.js';
import type { ServiceContext } from '../deps.js';
import { authorizeActingAs } from '../membership/service.js';
import { requireRecentSignIn } from '../recent-sign-in.js';
import { deletePasskeysOfUser, listPasskeysOfUser } from '../passkey/repository.js';
import { getUser, type UserRow } from '../user/repository.js';
import {
  claimTotpStep,
  countUnusedRecoveryCodes,
  deleteTotp,
  getTotp,
  putUnverifiedTotp,
  recordTotpFailure,
  replaceRecoveryCodes,
  resetTotpFailures,
  secondFactorsOf,
  useRecoveryCode,
} from './repository.js';

/** RFC 6238 defaults, which every authenticator app understands. */
const PERIOD_S = 30;
/** One step either side absorbs clock drift between phone and server. */
const DRIFT_STEPS = 1;
/** Wrong codes in a row before second-factor checks pause, and for how long. */
export const MAX_FAILED_CODES = 5;
export const BLOCK_MS = 5 * 60_000;
const RECOVERY_CODE_COUNT = 10;

export interface TotpEnrolment {
  /** base32, for typing in by hand */
  secret: string;
  uri: string;
  qrDataUrl: string;
}

export type SecondFactorResult = { ok: true; method: 'totp' | 'recovery_code' } | { ok: false };

async function requireHuman(ctx: ServiceContext, userId: string): Promise<UserRow> {
  const user = await getUser(ctx.scope, userId);
  if (!user) throw notFound('user', userId);
  if (user.type !== 'human') throw ruleViolation('user.not_human', 'only human users have a second factor');
  return user;
}

/**
 * Users manage their own factors after a recent sign-in (src/domain/recent-sign-in.ts); managers
 * need user.credential.write on the user's org and every permission the user holds (removing a
 * factor opens the account to whoever has the password).
 */
async function authorizeFactorChange(ctx: ServiceContext, user: UserRow): Promise<void> {
  if (ctx.actor.type === 'user' && ctx.actor.userId === user.id) return requireRecentSignIn(ctx, user.id);
  await authorize(ctx, 'user.credential.write', { orgId: user.org_id });
  await authorizeActingAs(ctx, user.id);
}

export const currentStep = (nowMs = Date.now()) => Math.floor(nowMs / 1000 / PERIOD_S);

/** The TOTP code for a base32 secret at a time step (tests act as the authenticator app with it). */
export function totpCodeAt(secret: string, step: number): string {
  return generateSync({ secret, epoch: step * PERIOD_S, period: PERIOD_S });
}

/** The time step `code` belongs to within the drift window, or undefined. */
function matchingStep(secret: string, code: string, nowMs: number): number | undefined {
  const now = currentStep(nowMs);
  for (let s = now - DRIFT_STEPS; s <= now + DRIFT_STEPS; s++) {
    if (constantTimeEqual(totpCodeAt(secret, s), code)) return s;
  }
  return undefined;
}

/** Recovery codes carry 80 random bits, so a fast salted hash is enough: there is nothing to guess. */
const hashRecoveryCode = (userId: string, code: string) => sha256(`${userId}:${code.replace(/[\s-]/g, '').toUpperCase()}`);

function newRecoveryCode(): string {
  const alphabet = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789'; // no 0/O, 1/I: read off paper
  const raw = [...randomBytes(16)].map((b) => alphabet[b % 32]).join('');
  return raw.match(/.{4}/g)!.join('-');
}

/**
 * Starts (or restarts) TOTP enrolment: a fresh secret, encrypted at rest, unverified until the
 * user proves their app has it. A verified factor is not replaced by this: remove it first.
 */
export async function startTotpEnrolment(ctx: ServiceContext, userId: string, opts: { issuer: string; accountName: string }): Promise<TotpEnrolment> {
  const user = await requireHuman(ctx, userId);
  await authorizeFactorChange(ctx, user);
  const secret = generateSecret();
  await ctx.scope.transaction(async (scope) => {
    const existing = await getTotp(scope, userId);
    if (existing?.verified) throw ruleViolation('mfa.totp_already_enrolled', 'the user already has a verified authenticator');
    await putUnverifiedTotp(scope, userId, ctx.deps.box.encrypt(secret));
    await appendEvent(scope, ctx.actor, { orgId: user.org_id, resourceType: 'user', resourceId: userId, type: 'user.mfa.totp.added' });
  });
  const uri = generateURI({ issuer: opts.issuer, label: opts.accountName, secret, period: PERIOD_S });
  return { secret, uri, qrDataUrl: await QRCode.toDataURL(uri, { margin: 1, width: 220 }) };
}

async function checkNotBlocked(blockedUntil: Date | null): Promise<void> {
  if (blockedUntil && blockedUntil.getTime() > Date.now()) {
    throw new DomainError('rate_limited', 'too many wrong codes; try again later', 'mfa.too_many_attempts', {
      retryAfterS: Math.ceil((blockedUntil.getTime() - Date.now()) / 1000),
    });
  }
}

/** Confirms enrolment with a first code and hands out recovery codes (shown once; only hashes are stored). */
export async function confirmTotpEnrolment(ctx: ServiceContext, userId: string, code: string, nowMs = Date.now()): Promise<{ recoveryCodes: string[] }> {
  const user = await requireHuman(ctx, userId);
  await authorizeFactorChange(ctx, user);
  const totp = await getTotp(ctx.scope, userId);
  if (!totp) throw ruleViolation('mfa.totp_not_started', 'TOTP enrolment was not started');
  if (totp.verified) throw ruleViolation('mfa.totp_already_enrolled', 'the user already has a verified authenticator');
  await checkNotBlocked(totp.blocked_until);
  const step = matchingStep(ctx.deps.box.decrypt(totp.secret_enc), code.trim(), nowMs);
  if (step === undefined || !(await claimTotpStep(ctx.scope, userId, step, { verify: true }))) {
    await recordTotpFailure(ctx.scope, userId, MAX_FAILED_CODES, BLOCK_MS);
    throw ruleViolation('mfa.invalid_code', 'the code is wrong or was already used');
  }
  return { recoveryCodes: await newRecoveryCodes(ctx, user, 'user.mfa.totp.verified') };
}

/** A fresh set of recovery codes in place of the old ones, and the event that says why; the codes in clear, for the user's eyes only. */
async function newRecoveryCodes(ctx: ServiceContext, user: { id: string; org_id: string }, type: string): Promise<string[]> {
  const recoveryCodes = Array.from({ length: RECOVERY_CODE_COUNT }, newRecoveryCode);
  await ctx.scope.transaction(async (scope) => {
    await replaceRecoveryCodes(
      scope,
      user.id,
      recoveryCodes.map((c) => hashRecoveryCode(user.id, c)),
    );
    await appendEvent(scope, ctx.actor, { orgId: user.org_id, resourceType: 'user', resourceId: user.id, type });
  });
  return recoveryCodes;
}

export async function hasVerifiedTotp(ctx: Pick<ServiceContext, 'scope'>, userId: string): Promise<boolean> {
  return (await getTotp(ctx.scope, userId))?.verified === true;
}

/** Whether the user has a verified authenticator app, and a passkey for this relying party (the login's second-factor rule). */
export function secondFactorsHere(ctx: Pick<ServiceContext, 'scope'>, userId: string, rpId: string): Promise<{ totp: boolean; passkey: boolean }> {
  return secondFactorsOf(ctx.scope, userId, rpId);
}

/**
 * Checks a second factor at login: a TOTP code (each time step works once) or a recovery code
 * (each works once). Wrong codes count towards a pause that applies to both kinds.
 */
export async function verifySecondFactor(ctx: ServiceContext, userId: string, input: string, nowMs = Date.now()): Promise<SecondFactorResult> {
  const totp = await getTotp(ctx.scope, userId);
  if (!totp?.verified) return { ok: false };
  await checkNotBlocked(totp.blocked_until);
  const code = input.trim();
  let result: SecondFactorResult = { ok: false };
  if (/^\d{6}$/.test(code)) {
    const step = matchingStep(ctx.deps.box.decrypt(totp.secret_enc), code, nowMs);
    if (step !== undefined && (await claimTotpStep(ctx.scope, userId, step))) result = { ok: true, method: 'totp' };
  } else if (code.length <= 64 && (await useRecoveryCode(ctx.scope, userId, hashRecoveryCode(userId, code)))) {
    await resetTotpFailures(ctx.scope, userId);
    result = { ok: true, method: 'recovery_code' };
  }
  const user = await getUser(ctx.scope, userId);
  await ctx.scope.transaction(async (scope) => {
    if (!result.ok) await recordTotpFailure(scope, userId, MAX_FAILED_CODES, BLOCK_MS);
    await appendEvent(scope, ctx.actor, {
      orgId: user?.org_id,
      resourceType: 'user',
      resourceId: userId,
      type: result.ok ? `user.mfa.${result.method}.checked` : 'user.mfa.check.failed',
    });
  });
  return result;
}

/** New recovery codes; the old ones stop working. */
export async function regenerateRecoveryCodes(ctx: ServiceContext, userId: string): Promise<{ recoveryCodes: string[] }> {
  const user = await requireHuman(ctx, userId);
  await authorizeFactorChange(ctx, user);
  if (!(await hasVerifiedTotp(ctx, userId))) throw ruleViolation('mfa.totp_not_enrolled', 'recovery codes need a verified authenticator');
  return { recoveryCodes: await newRecoveryCodes(ctx, user, 'user.mfa.recovery_codes.regenerated') };
}

export async function remainingRecoveryCodes(ctx: Pick<ServiceContext, 'scope'>, userId: string): Promise<number> {
  return countUnusedRecoveryCodes(ctx.scope, userId);
}

/** Removes the authenticator and its recovery codes (e.g. a manager resetting a lost phone). */
export async function removeTotp(ctx: ServiceContext, userId: string): Promise<void> {
  const user = await requireHuman(ctx, userId);
  await authorizeFactorChange(ctx, user);
  await ctx.scope.transaction(async (scope) => {
    if ((await deleteTotp(scope, userId)) === 0) throw notFound('totp', userId);
    await replaceRecoveryCodes(scope, userId, []);
    await appendEvent(scope, ctx.actor, { orgId: user.org_id, resourceType: 'user', resourceId: userId, type: 'user.mfa.totp.removed' });
  });
}

/** One factor as its user's managers see it (no secret, no key material). */
export type AuthFactor =
  | {
      type: 'totp';
      /** not_ready: enrolment started but never confirmed with a code */
      state: 'ready' | 'not_ready';
      createdAt: Date;
      /** unused recovery codes that go with the authenticator */
      recoveryCodesLeft: number;
    }
  | { type: 'passkey'; state: 'ready'; id: string; name: string; createdAt: Date; lastUsedAt: Date | null };

/** The user's second factors and passkeys: for the user, and for managers who may read the user. */
export async function listAuthFactors(ctx: ServiceContext, userId: string): Promise<AuthFactor[]> {
  const user = await getUser(ctx.scope, userId);
  if (!user) throw notFound('user', userId);
  const self = ctx.actor.type === 'user' && ctx.actor.userId === userId;
  if (!self && !(await isAllowed(ctx, 'user.read', { orgId: user.org_id }))) throw permissionDenied('user.read');
  const factors: AuthFactor[] = [];
  const totp = await getTotp(ctx.scope, userId);
  if (totp)
    factors.push({
      type: 'totp',
      state: totp.verified ? 'ready' : 'not_ready',
      createdAt: totp.created_at,
      recoveryCodesLeft: await countUnusedRecoveryCodes(ctx.scope, userId),
    });
  for (const p of await listPasskeysOfUser(ctx.scope, userId)) {
    factors.push({ type: 'passkey', state: 'ready', id: p.id, name: p.name, createdAt: p.created_at, lastUsedAt: p.last_used_at });
  }
  return factors;
}

/**
 * Removes every factor on the user's devices, e.g. after a lost phone: the authenticator app, its
 * recovery codes and every passkey. With a policy that asks for a second factor, they enrol again
 * at their next login. Audited (user.mfa.reset, naming what was removed) even when there was
 * nothing to remove. Managers need what removeTotp needs.
 */
export async function resetAuthFactors(ctx: ServiceContext, userId: string): Promise<{ removed: { totp: boolean; passkeys: number } }> {
  const user = await requireHuman(ctx, userId);
  await authorizeFactorChange(ctx, user);
  return ctx.scope.transaction(async (scope) => {
    const removed = { totp: (await deleteTotp(scope, userId)) > 0, passkeys: await deletePasskeysOfUser(scope, userId) };
    await replaceRecoveryCodes(scope, userId, []);
    await appendEvent(scope, ctx.actor, { orgId: user.org_id, resourceType: 'user', resourceId: userId, type: 'user.mfa.reset', payload: { removed } });
    return { removed };
  });
}
