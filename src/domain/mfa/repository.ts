import type { Knex } from 'knex';
import type { Scope } from '../../db/scope.js';

export interface TotpRow {
  user_id: string;
  secret_enc: string;
  verified: boolean;
  last_used_step: string | number | null; // bigint: pg returns a string
  failed_attempts: number;
  blocked_until: Date | null;
  created_at: Date;
}

export async function getTotp(scope: Scope, userId: string): Promise<TotpRow | undefined> {
  return scope.table('user_totp').where({ user_id: userId }).first();
}

export interface SecondFactors {
  totp: boolean;
  passkey: boolean;
}

/**
 * What counts as a second factor at sign-in, as two columns (`has_totp`, `has_passkey`) of a
 * query on users: a verified authenticator app, and a passkey of this relying party.
 * `userIdColumn` names the users' id column of that query ('users.id', 'u.id'). It runs nothing
 * itself: the password step reads them with the login name (src/domain/user/login-name-repository.ts).
 */
export function secondFactorColumns(scope: Scope, userIdColumn: string, rpId: string): Record<'has_totp' | 'has_passkey', Knex.Raw> {
  const totp = scope.table('user_totp', 't').whereRaw('t.user_id = ??', [userIdColumn]).andWhere('t.verified', true).select(scope.expression('1'));
  const passkey = scope.table('user_passkeys', 'k').whereRaw('k.user_id = ??', [userIdColumn]).andWhere('k.rp_id', rpId).select(scope.expression('1'));
  return { has_totp: scope.expression('exists(?) as has_totp', [totp]), has_passkey: scope.expression('exists(?) as has_passkey', [passkey]) };
}

/** The two columns of secondFactorColumns, read back. */
export const secondFactorsFrom = (row: { has_totp?: unknown; has_passkey?: unknown } | undefined): SecondFactors => ({
  totp: row?.has_totp === true,
  passkey: row?.has_passkey === true,
});

/** The second factors a user has at sign-in (secondFactorColumns), in one statement. */
export async function secondFactorsOf(scope: Scope, userId: string, rpId: string): Promise<SecondFactors> {
  const columns = secondFactorColumns(scope, 'users.id', rpId);
  return secondFactorsFrom(await scope.table('users').where({ id: userId }).first(columns.has_totp, columns.has_passkey));
}

/** Replaces any enrolment of the user with a new, unverified secret. */
export async function putUnverifiedTotp(scope: Scope, userId: string, secretEnc: string): Promise<void> {
  await scope.table('user_totp').where({ user_id: userId }).delete();
  await scope.insert('user_totp', { user_id: userId, secret_enc: secretEnc, verified: false });
}

/**
 * Marks `step` used, only if no later or equal step was used before: the compare-and-set that
 * makes a code work once even when two requests race with it. Returns whether it won.
 */
export async function claimTotpStep(scope: Scope, userId: string, step: number, opts: { verify?: boolean } = {}): Promise<boolean> {
  const n = await scope
    .table('user_totp')
    .where({ user_id: userId })
    .andWhere((q) => {
      q.whereNull('last_used_step').orWhere('last_used_step', '<', step);
    })
    .update({ last_used_step: step, failed_attempts: 0, blocked_until: null, ...(opts.verify ? { verified: true } : {}) });
  return n === 1;
}

/** Counts a wrong code; at `limit` in a row, blocks checks for `blockMs`. */
export async function recordTotpFailure(scope: Scope, userId: string, limit: number, blockMs: number): Promise<void> {
  const row = await scope.table('user_totp').where({ user_id: userId }).forUpdate().first('failed_attempts');
  if (!row) return;
  const attempts = row.failed_attempts + 1;
  await scope
    .table('user_totp')
    .where({ user_id: userId })
    .update(attempts >= limit ? { failed_attempts: 0, blocked_until: new Date(Date.now() + blockMs) } : { failed_attempts: attempts });
}

export async function resetTotpFailures(scope: Scope, userId: string): Promise<void> {
  await scope.table('user_totp').where({ user_id: userId }).update({ failed_attempts: 0, blocked_until: null });
}

export async function deleteTotp(scope: Scope, userId: string): Promise<number> {
  return scope.table('user_totp').where({ user_id: userId }).delete();
}

export async function replaceRecoveryCodes(scope: Scope, userId: string, hashes: string[]): Promise<void> {
  await scope.table('user_recovery_codes').where({ user_id: userId }).delete();
  if (hashes.length)
    await scope.insert(
      'user_recovery_codes',
      hashes.map((code_hash) => ({ user_id: userId, code_hash })),
    );
}

/** Uses a recovery code once: only an unused row is marked, so a second use finds nothing. */
export async function useRecoveryCode(scope: Scope, userId: string, hash: string): Promise<boolean> {
  const n = await scope.table('user_recovery_codes').where({ user_id: userId, code_hash: hash }).whereNull('used_at').update({ used_at: new Date() });
  return n === 1;
}

export async function countUnusedRecoveryCodes(scope: Scope, userId: string): Promise<number> {
  const row = await scope.table('user_recovery_codes').where({ user_id: userId }).whereNull('used_at').count<{ count: string }[]>('* as count').first();
  return Number(row?.count ?? 0);
}
