import type { Scope } from '../../db/scope.js';

export type SigningAlg = 'RS256' | 'ES256';

export interface SigningKeyRow {
  kid: string;
  alg: SigningAlg;
  public_jwk: Record<string, unknown>;
  private_jwk_enc: string;
  state: 'next' | 'active' | 'retired';
  created_at: Date;
  retired_at: Date | null;
  remove_after: Date | null;
}

export async function insertSigningKey(
  scope: Scope,
  row: Pick<SigningKeyRow, 'kid' | 'alg' | 'state' | 'private_jwk_enc'> & { public_jwk: string },
): Promise<void> {
  await scope.insert('signing_keys', row);
}

export async function listSigningKeys(scope: Scope): Promise<SigningKeyRow[]> {
  return scope.table('signing_keys').orderBy('created_at', 'desc');
}

/** Keys that belong in the JWKS now: the next key, the active one, and retired ones still verifying live tokens. */
export async function publishedSigningKeys(scope: Scope): Promise<SigningKeyRow[]> {
  return scope
    .table('signing_keys')
    .where((q) => q.whereIn('state', ['next', 'active']).orWhere((r) => r.where('state', 'retired').andWhere('remove_after', '>', new Date())))
    .orderBy('created_at', 'desc');
}

/** The next and active keys, locked for the rest of the transaction (one rotation at a time). */
export async function lockCurrentSigningKeys(scope: Scope): Promise<SigningKeyRow[]> {
  return scope.table('signing_keys').whereIn('state', ['next', 'active']).forUpdate();
}

export async function deleteSigningKey(scope: Scope, kid: string): Promise<number> {
  return scope.table('signing_keys').where({ kid }).delete();
}

export async function retireSigningKey(scope: Scope, kid: string, at: Date, removeAfter: Date): Promise<number> {
  return scope.table('signing_keys').where({ kid }).update({ state: 'retired', retired_at: at, remove_after: removeAfter });
}

export async function activateSigningKey(scope: Scope, kid: string): Promise<number> {
  return scope.table('signing_keys').where({ kid }).update({ state: 'active' });
}
