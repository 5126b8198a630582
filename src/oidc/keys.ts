import { exportJWK, generateKeyPair } from 'jose';
import type { Scope } from '../db/scope.js';
import type { SecretBox } from '../shared/crypto.js';
import { newId } from '../shared/ids.js';

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

/** Generates a key pair; its private half is stored encrypted under the master key. */
export async function createSigningKey(scope: Scope, box: SecretBox, alg: SigningAlg, state: SigningKeyRow['state']): Promise<string> {
  const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true, ...(alg === 'RS256' ? { modulusLength: 2048 } : {}) });
  const kid = newId();
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' };
  const privateJwk = { ...(await exportJWK(privateKey)), kid, alg, use: 'sig' };
  await scope.insert('signing_keys', {
    kid, alg, state, public_jwk: JSON.stringify(publicJwk), private_jwk_enc: box.encrypt(JSON.stringify(privateJwk)),
  });
  return kid;
}

export async function listSigningKeys(scope: Scope): Promise<SigningKeyRow[]> {
  return scope.table('signing_keys').orderBy('created_at', 'desc');
}
