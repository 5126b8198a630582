import type { Scope } from '../../db/scope.js';

/**
 * The one-time codes of the account journeys (table user_codes): one live code per user and kind,
 * used by domain/user/codes.ts. A repository of its own beside the user's, found by the isolation
 * matrix like every file named *repository.ts.
 */
export type CodeKind = 'email_verification' | 'password_reset' | 'initial_password' | 'email_change' | 'phone_verification';

export interface UserCodeRow {
  user_id: string;
  kind: CodeKind;
  code_hash: string;
  /** the address an email_verification code was sent to; the number, for phone_verification */
  email: string | null;
  attempts: number;
  expires_at: Date;
  created_at: Date;
}

/** Stores a new code, replacing the user's previous code of this kind. Call inside a transaction. */
export async function replaceUserCode(scope: Scope, row: Pick<UserCodeRow, 'user_id' | 'kind' | 'code_hash' | 'email' | 'expires_at'>): Promise<void> {
  await scope.table('user_codes').where({ user_id: row.user_id, kind: row.kind }).delete();
  await scope.insert('user_codes', row);
}

/** The user's live code of this kind; `lock` holds its row until the transaction ends (one check at a time). */
export async function getUserCode(scope: Scope, userId: string, kind: CodeKind, opts: { lock?: boolean } = {}): Promise<UserCodeRow | undefined> {
  const q = scope.table('user_codes').where({ user_id: userId, kind });
  return (opts.lock ? q.forUpdate() : q).first();
}

/** When the user's code of this kind was issued, if there is one. */
export async function userCodeIssuedAt(scope: Scope, userId: string, kind: CodeKind): Promise<Date | undefined> {
  const row = await scope.table('user_codes').where({ user_id: userId, kind }).first('created_at');
  return row ? new Date(row.created_at) : undefined;
}

export async function setUserCodeAttempts(scope: Scope, userId: string, kind: CodeKind, attempts: number): Promise<number> {
  return scope.table('user_codes').where({ user_id: userId, kind }).update({ attempts });
}

export async function deleteUserCode(scope: Scope, userId: string, kind: CodeKind): Promise<number> {
  return scope.table('user_codes').where({ user_id: userId, kind }).delete();
}
