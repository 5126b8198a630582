import type { Scope } from '../../db/scope.js';

export interface PasskeyRow {
  id: string;
  user_id: string;
  credential_id: string;
  public_key: Buffer;
  sign_count: number;
  backup_eligible: boolean;
  backed_up: boolean;
  transports: string[];
  aaguid: string | null;
  rp_id: string;
  name: string;
  created_at: Date;
  last_used_at: Date | null;
}

export type ChallengePurpose = 'registration' | 'authentication';

export interface ChallengeRow {
  id: string;
  purpose: ChallengePurpose;
  user_id: string | null;
  binding: string;
  challenge: string;
  rp_id: string;
  origin: string;
  user_verification: boolean;
  expires_at: Date;
}

export async function listPasskeysOfUser(scope: Scope, userId: string): Promise<PasskeyRow[]> {
  return scope.table('user_passkeys').where({ user_id: userId }).orderBy('created_at').orderBy('id');
}

export async function getPasskey(scope: Scope, userId: string, id: string): Promise<PasskeyRow | undefined> {
  return scope.table('user_passkeys').where({ user_id: userId, id }).first();
}

/** The credential an assertion names, in this instance only. */
export async function findPasskeyByCredentialId(scope: Scope, credentialId: string): Promise<PasskeyRow | undefined> {
  return scope.table('user_passkeys').where({ credential_id: credentialId }).first();
}

export async function countPasskeysOfUser(scope: Scope, userId: string): Promise<number> {
  const row = await scope.table('user_passkeys').where({ user_id: userId }).count<{ count: string }[]>('* as count').first();
  return Number(row?.count ?? 0);
}

export async function insertPasskey(scope: Scope, row: Omit<PasskeyRow, 'created_at' | 'last_used_at'>): Promise<void> {
  await scope.insert('user_passkeys', { ...row, transports: row.transports });
}

export async function renamePasskeyRow(scope: Scope, userId: string, id: string, name: string): Promise<number> {
  return scope.table('user_passkeys').where({ user_id: userId, id }).update({ name });
}

export async function deletePasskeysOfUser(scope: Scope, userId: string): Promise<number> {
  return scope.table('user_passkeys').where({ user_id: userId }).delete();
}

export async function deletePasskeyRow(scope: Scope, userId: string, id: string): Promise<number> {
  return scope.table('user_passkeys').where({ user_id: userId, id }).delete();
}

/**
 * Records a use: the new signature counter, only if it still moves forward from what this
 * request read (a concurrent use of a cloned authenticator cannot both pass), and the backup state.
 */
export async function recordPasskeyUse(scope: Scope, id: string, seen: number, next: number, backedUp: boolean): Promise<boolean> {
  const n = await scope.table('user_passkeys').where({ id, sign_count: seen }).update({ sign_count: next, backed_up: backedUp, last_used_at: new Date() });
  return n === 1;
}

export async function insertChallenge(scope: Scope, row: ChallengeRow): Promise<void> {
  // Expired challenges of abandoned ceremonies go with every new one, in the same statement (one
  // round trip: without Redis every login page makes a challenge here); the index keeps it cheap.
  const expired = scope.table('webauthn_challenges').where('expires_at', '<', new Date()).delete();
  await scope.insert('webauthn_challenges', row).with('expired', expired);
}

/** Takes a challenge out, once: a second finish with the same id finds nothing. */
export async function takeChallenge(scope: Scope, id: string): Promise<ChallengeRow | undefined> {
  const rows: ChallengeRow[] = await scope.table('webauthn_challenges').where({ id }).delete().returning('*');
  return rows[0];
}

/** Whether `domain` is one of this instance's own (a relying party ID must be). */
export async function instanceServesDomain(scope: Scope, domain: string): Promise<boolean> {
  return Boolean(await scope.table('instance_domains').where({ domain: domain.toLowerCase() }).first('domain'));
}
