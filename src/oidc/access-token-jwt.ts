import { createLocalJWKSet, decodeProtectedHeader, importJWK, jwtVerify, SignJWT, type JWTPayload } from 'jose';
import type { SecretBox } from '../shared/crypto.js';
import { audienceProjects } from './claims.js';
import type { SigningKeyRow } from './keys.js';

/**
 * JWT access tokens, as ZITADEL issues them for apps and machines whose access token type is
 * JWT. oidc-provider only makes JWT access tokens for resource servers and then refuses them at
 * userinfo, introspection and revocation; so every access token is stored as an opaque one, and
 * for JWT clients the token response carries a signed JWT whose `jti` is that opaque token.
 * Tokens presented back to us are verified and mapped to their opaque token before
 * oidc-provider sees them, so revocation, expiry and grant revocation apply to both forms.
 */
const NOT_OURS = 'not-a-token-of-this-instance';

export class AccessTokenJwts {
  private readonly jwks;
  private readonly signer?: Promise<{ key: CryptoKey | Uint8Array; kid: string; alg: string }>;

  constructor(
    private readonly issuer: string,
    keys: SigningKeyRow[],
    box: SecretBox,
  ) {
    this.jwks = createLocalJWKSet({ keys: keys.map((k) => k.public_jwk) } as never);
    const active = keys.find((k) => k.state === 'active');
    if (active) {
      this.signer = importJWK(JSON.parse(box.decrypt(active.private_jwk_enc)), active.alg).then((key) => ({ key, kid: active.kid, alg: active.alg }));
    }
  }

  /** The JWT for an opaque access token `opaque` issued to `clientId` (token = oidc-provider's model). */
  async sign(
    opaque: string,
    token: { accountId?: string; clientId: string; scope?: string; exp?: number; iat?: number; expiration?: number; extra?: Record<string, unknown> },
    projectId?: string,
  ): Promise<string> {
    if (!this.signer) throw new Error('no active signing key');
    const { key, kid, alg } = await this.signer;
    const iat = token.iat ?? Math.floor(Date.now() / 1000);
    const exp = token.exp ?? iat + (token.expiration ?? 0);
    const scopes = (token.scope ?? '').split(' ').filter(Boolean);
    const { sub: extraSub, ...extra } = token.extra ?? {};
    const claims: JWTPayload = {
      ...extra,
      client_id: token.clientId,
      ...(token.scope ? { scope: token.scope } : {}),
    };
    return new SignJWT(claims)
      .setProtectedHeader({ alg, kid, typ: 'at+jwt' })
      .setIssuer(this.issuer)
      .setSubject(String(token.accountId ?? extraSub ?? token.clientId))
      .setAudience([token.clientId, ...audienceProjects(scopes, projectId)])
      .setIssuedAt(iat)
      .setNotBefore(iat)
      .setExpirationTime(exp)
      .setJti(opaque)
      .sign(key);
  }

  /**
   * What to hand oidc-provider for a presented token: opaque tokens as they are; our JWTs as the
   * opaque token they stand for; any other JWT (another instance's, a forgery, an expired one) as
   * a value that matches nothing, so it is inactive or invalid as usual.
   */
  async resolve(presented: string): Promise<string> {
    // Opaque tokens have no dots: no JWT parse (and no thrown error) on the hot path.
    if (!presented.includes('.')) return presented;
    try {
      decodeProtectedHeader(presented);
    } catch {
      return presented;
    }
    try {
      const { payload } = await jwtVerify(presented, this.jwks, { issuer: this.issuer, typ: 'at+jwt' });
      return typeof payload.jti === 'string' ? payload.jti : NOT_OURS;
    } catch {
      return NOT_OURS;
    }
  }
}
