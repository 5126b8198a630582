import { exportJWK, generateKeyPair } from 'jose';
import type { Scope } from '../../db/scope.js';
import type { SecretBox } from '../../shared/crypto.js';
import { newId } from '../../shared/ids.js';
import {
  activateSigningKey,
  deleteSigningKey,
  insertSigningKey,
  lockCurrentSigningKeys,
  retireSigningKey,
  type SigningAlg,
  type SigningKeyRow,
} from './repository.js';

export { listSigningKeys, publishedSigningKeys, type SigningAlg, type SigningKeyRow } from './repository.js';

/** Generates a key pair; its private half is stored encrypted under the master key. */
export async function createSigningKey(scope: Scope, box: SecretBox, alg: SigningAlg, state: SigningKeyRow['state']): Promise<string> {
  const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true, ...(alg === 'RS256' ? { modulusLength: 2048 } : {}) });
  const kid = newId();
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' };
  const privateJwk = { ...(await exportJWK(privateKey)), kid, alg, use: 'sig' };
  await insertSigningKey(scope, { kid, alg, state, public_jwk: JSON.stringify(publicJwk), private_jwk_enc: box.encrypt(JSON.stringify(privateJwk)) });
  return kid;
}

export interface RotationResult {
  published?: string;
  activated?: string;
  retired?: string;
}

/**
 * One rotation step, safe to repeat: with no `next` key, publish one (it is in JWKS but does
 * not sign); with a `next` key older than `minNextAgeS`, make it active and retire the old one,
 * which stays in JWKS for `retainS` seconds (the longest token lifetime). Relying parties thus
 * see a key before any token signed by it.
 */
export async function rotateSigningKeys(
  scope: Scope,
  box: SecretBox,
  opts: { alg?: SigningAlg; retainS: number; minNextAgeS?: number; now?: Date },
): Promise<RotationResult> {
  const now = opts.now ?? new Date();
  return scope.transaction(async (tx) => {
    const rows = await lockCurrentSigningKeys(tx);
    const next = rows.find((r) => r.state === 'next');
    const active = rows.find((r) => r.state === 'active');
    if (!next || (opts.alg && next.alg !== opts.alg)) {
      if (next) await deleteSigningKey(tx, next.kid);
      const kid = await createSigningKey(tx, box, opts.alg ?? active?.alg ?? 'RS256', 'next');
      return { published: kid };
    }
    if ((now.getTime() - new Date(next.created_at).getTime()) / 1000 < (opts.minNextAgeS ?? 0)) return {};
    if (active) await retireSigningKey(tx, active.kid, now, new Date(now.getTime() + opts.retainS * 1000));
    await activateSigningKey(tx, next.kid);
    return { activated: next.kid, retired: active?.kid };
  });
}
