import type { Context } from 'koa';
import { createLocalJWKSet, decodeJwt, jwtVerify } from 'jose';
import { clientInfo } from './account.js';
import { assertionIsFresh, mintClientCredentials } from './internals.js';
import { machineByClientId, machineKeys } from './repository.js';
import type { InstanceProvider } from './provider.js';

/**
 * The JWT bearer grant (RFC 7523) as ZITADEL's "JWT profile" uses it: a machine user signs an
 * assertion (iss = sub = its user id, aud = our issuer) with one of its machine keys, and gets
 * an access token without any other client authentication. oidc-provider always authenticates
 * the client at its token endpoint, so this grant is answered here and the token is minted
 * with the provider's own ClientCredentials model (same storage, lifetime, introspection).
 */
export const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';

function tokenError(ctx: Context, status: number, error: string, description: string): void {
  ctx.status = status;
  ctx.set('Cache-Control', 'no-store');
  ctx.body = { error, error_description: description };
}

export async function jwtBearerGrant(ctx: Context, oidc: InstanceProvider, params: URLSearchParams): Promise<void> {
  const assertion = params.get('assertion');
  if (!assertion) return tokenError(ctx, 400, 'invalid_request', 'assertion is missing');
  let subject: string | undefined;
  try {
    subject = decodeJwt(assertion).sub;
  } catch {
    return tokenError(ctx, 400, 'invalid_grant', 'assertion is not a JWT');
  }
  const machine = subject ? await machineByClientId(oidc.scope, subject) : undefined;
  if (!machine || machine.state !== 'active') return tokenError(ctx, 400, 'invalid_grant', 'unknown subject');
  const keys = (await machineKeys(oidc.scope, machine.id)).map((k) => ({ ...k.public_jwk, kid: (k.public_jwk.kid as string | undefined) ?? k.id }));
  let payload;
  try {
    ({ payload } = await jwtVerify(assertion, createLocalJWKSet({ keys } as never), {
      issuer: machine.id,
      subject: machine.id,
      audience: [oidc.issuer, `${oidc.issuer}/token`],
      requiredClaims: ['exp', 'iat'],
      maxTokenAge: '1h',
      clockTolerance: 5,
    }));
  } catch (err) {
    return tokenError(ctx, 400, 'invalid_grant', `assertion rejected: ${(err as Error).message}`);
  }
  if (payload.jti && !(await assertionIsFresh(oidc.provider, machine.id, payload.jti, payload.exp))) {
    return tokenError(ctx, 400, 'invalid_grant', 'assertion was already used');
  }
  const client = await oidc.provider.Client.find(machine.id);
  if (!client) return tokenError(ctx, 400, 'invalid_grant', 'unknown subject');
  const scope = (params.get('scope') ?? '').split(' ').filter(Boolean).join(' ') || undefined;
  const { value, token } = await mintClientCredentials(oidc.provider, client, scope);
  const accessToken = clientInfo(client).flags?.accessTokenType === 'jwt' ? await oidc.accessTokens.sign(value, token) : value;
  ctx.set('Cache-Control', 'no-store');
  ctx.body = { access_token: accessToken, token_type: 'Bearer', expires_in: token.expiration, ...(scope ? { scope } : {}) };
}
