import type { SecretBox } from '../shared/crypto.js';
import type { SigningAlg, SigningKeyRow } from '../domain/signing-key/repository.js';

// The keys are stored and rotated by the domain (src/domain/signing-key); this module turns them
// into what oidc-provider takes.
export { publishedSigningKeys, rotateSigningKeys, type RotationResult, type SigningAlg, type SigningKeyRow } from '../domain/signing-key/service.js';

/**
 * Private JWKs for oidc-provider. Only the active key may sign; the others carry
 * key_ops ["verify"], which oidc-provider honours when it selects a signing key, so the
 * next key is published before it signs and a retired one keeps verifying until removed.
 */
export function providerJwks(rows: SigningKeyRow[], box: SecretBox): { keys: Record<string, unknown>[] } {
  const ordered = [...rows].sort((a, b) => Number(b.state === 'active') - Number(a.state === 'active'));
  return {
    keys: ordered.map((row) => {
      const jwk = JSON.parse(box.decrypt(row.private_jwk_enc)) as Record<string, unknown>;
      return row.state === 'active' ? jwk : { ...jwk, key_ops: ['verify'] };
    }),
  };
}

export function activeSigningAlg(rows: SigningKeyRow[]): SigningAlg {
  return rows.find((r) => r.state === 'active')?.alg ?? 'RS256';
}
