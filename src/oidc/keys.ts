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

/** Keys that belong in the JWKS now: the next key, the active one, and retired ones still verifying live tokens. */
export async function publishedSigningKeys(scope: Scope): Promise<SigningKeyRow[]> {
  return scope.table('signing_keys')
    .where((q) => q.whereIn('state', ['next', 'active']).orWhere((r) => r.where('state', 'retired').andWhere('remove_after', '>', new Date())))
    .orderBy('created_at', 'desc');
}

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

export interface RotationResult { published?: string; activated?: string; retired?: string }

/**
 * One rotation step, safe to repeat: with no `next` key, publish one (it is in JWKS but does
 * not sign); with a `next` key older than `minNextAgeS`, make it active and retire the old one,
 * which stays in JWKS for `retainS` seconds (the longest token lifetime). Relying parties thus
 * see a key before any token signed by it.
 */
export async function rotateSigningKeys(
  scope: Scope, box: SecretBox, opts: { alg?: SigningAlg; retainS: number; minNextAgeS?: number; now?: Date },
): Promise<RotationResult> {
  const now = opts.now ?? new Date();
  return scope.transaction(async (tx) => {
    const rows: SigningKeyRow[] = await tx.table('signing_keys').whereIn('state', ['next', 'active']).forUpdate();
    const next = rows.find((r) => r.state === 'next');
    const active = rows.find((r) => r.state === 'active');
    if (!next || (opts.alg && next.alg !== opts.alg)) {
      if (next) await tx.table('signing_keys').where({ kid: next.kid }).delete();
      const kid = await createSigningKey(tx, box, opts.alg ?? active?.alg ?? 'RS256', 'next');
      return { published: kid };
    }
    if ((now.getTime() - new Date(next.created_at).getTime()) / 1000 < (opts.minNextAgeS ?? 0)) return {};
    if (active) {
      await tx.table('signing_keys').where({ kid: active.kid })
        .update({ state: 'retired', retired_at: now, remove_after: new Date(now.getTime() + opts.retainS * 1000) });
    }
    await tx.table('signing_keys').where({ kid: next.kid }).update({ state: 'active' });
    return { activated: next.kid, retired: active?.kid };
  });
}
