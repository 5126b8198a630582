import { randomInt } from 'node:crypto';
import type { Scope } from '../db/scope.js';
import { constantTimeEqual, sha256 } from '../shared/crypto.js';

/**
 * One-time codes of the account journeys, sent by mail: email verification, password reset,
 * initial password. One live code per user and kind (a new one replaces the old), stored hashed,
 * expiring, and void after a few wrong tries so the code space cannot be walked.
 */
export type CodeKind = 'email_verification' | 'password_reset' | 'initial_password';
export const MAX_CODE_ATTEMPTS = 5;

const alphabet = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789';
const hashCode = (userId: string, kind: CodeKind, code: string) => sha256(`${kind}:${userId}:${code.trim().toUpperCase()}`);

export async function issueCode(scope: Scope, userId: string, kind: CodeKind, opts: { ttlMin: number; email?: string }): Promise<string> {
  const code = Array.from({ length: 8 }, () => alphabet[randomInt(alphabet.length)]).join('');
  await scope.transaction(async (tx) => {
    await tx.table('user_codes').where({ user_id: userId, kind }).delete();
    await tx.insert('user_codes', {
      user_id: userId, kind, code_hash: hashCode(userId, kind, code), email: opts.email ?? null,
      expires_at: new Date(Date.now() + opts.ttlMin * 60_000),
    });
  });
  return code;
}

/** Whether a code of this kind went out less than `seconds` ago (so a form cannot be used to flood an inbox). */
export async function issuedWithin(scope: Scope, userId: string, kind: CodeKind, seconds: number): Promise<boolean> {
  const row = await scope.table('user_codes').where({ user_id: userId, kind }).first('created_at');
  return Boolean(row && Date.now() - new Date(row.created_at).getTime() < seconds * 1000);
}

/** Uses the code once: true (and the code is gone) when it matches and is still valid. */
export async function consumeCode(scope: Scope, userId: string, kind: CodeKind, code: string): Promise<{ ok: boolean; email?: string | null }> {
  return scope.transaction(async (tx) => {
    const row = await tx.table('user_codes').where({ user_id: userId, kind }).forUpdate().first();
    if (!row) return { ok: false };
    if (new Date(row.expires_at).getTime() < Date.now() || row.attempts >= MAX_CODE_ATTEMPTS) {
      await tx.table('user_codes').where({ user_id: userId, kind }).delete();
      return { ok: false };
    }
    if (!constantTimeEqual(row.code_hash, hashCode(userId, kind, code))) {
      await tx.table('user_codes').where({ user_id: userId, kind }).update({ attempts: row.attempts + 1 });
      return { ok: false };
    }
    await tx.table('user_codes').where({ user_id: userId, kind }).delete();
    return { ok: true, email: row.email };
  });
}
