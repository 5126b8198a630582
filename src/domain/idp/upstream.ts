import * as client from 'openid-client';
import type { ExternalProfile } from '../user/external-profile.js';
import type { Outbound } from '../../shared/outbound.js';
import type { IdpWithSecret } from './repository.js';

/**
 * The client side of an external OpenID Provider (a customer's Azure AD, Okta…), with
 * openid-client: code flow with PKCE, state and nonce. Two callers start it: the login (signing
 * in, src/login/idp.ts) and the account page (linking the signed-in user, src/account/identity-link.ts).
 * Each keeps the pending authorization where only its own browser can bring it back (the login's
 * interaction, the account page's session) and hands the upstream's answer back here.
 */

/**
 * The one redirect URI per instance that upstream IdPs send their answers to (the one an admin
 * registers there), and how it tells the account page's answers from a sign-in's: their state
 * starts with `link.` (a sign-in's starts with its interaction uid, which is longer) and goes on
 * to the account page, whose session cookie is scoped to /ui/account.
 */
export const upstreamCallback = {
  path: '/ui/login/idp/callback',
  accountLinkPrefix: 'link',
  accountLinkReturn: '/ui/account/identities/link/return',
} as const;

/** What must come back with the upstream's answer: kept by the caller, used once. */
export interface UpstreamAuthorization {
  idpId: string;
  state: string;
  codeVerifier: string;
  nonce: string;
}

/**
 * The upstream's configuration from its discovery document, with every later call (token,
 * userinfo, keys) made through the same checked connections (src/shared/outbound.ts). Also what
 * an admin's "test" of an IdP runs (queries.ts), so a passing test means a login finds the same.
 */
export function discoverUpstream(
  idp: Pick<IdpWithSecret, 'issuer' | 'client_id'> & { clientSecret?: string | null },
  outbound: Outbound,
): Promise<client.Configuration> {
  const insecure = idp.issuer.startsWith('http:');
  return client.discovery(new URL(idp.issuer), idp.client_id, undefined, idp.clientSecret ? client.ClientSecretPost(idp.clientSecret) : client.None(), {
    timeout: 10,
    [client.customFetch]: (url, options) => outbound.fetch(url, options as RequestInit),
    ...(insecure ? { execute: [client.allowInsecureRequests] } : {}),
  });
}

/**
 * The URL that sends the browser to the upstream, and what to keep until it comes back. The
 * state starts with `statePrefix` and a dot: the one callback URI per instance reads it to know
 * who started the authorization. Throws when the upstream's discovery fails.
 */
export async function beginUpstreamAuthorization(
  outbound: Outbound,
  idp: IdpWithSecret,
  redirectUri: string,
  statePrefix: string,
): Promise<{ url: URL; pending: UpstreamAuthorization }> {
  let config: client.Configuration;
  try {
    config = await discoverUpstream(idp, outbound);
  } catch (err) {
    throw new Error(`discovery of ${idp.issuer} failed: ${(err as Error).message}`);
  }
  const codeVerifier = client.randomPKCECodeVerifier();
  const state = `${statePrefix}.${client.randomState()}`;
  const nonce = client.randomNonce();
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: redirectUri,
    scope: idp.scopes.join(' ') || 'openid',
    state,
    nonce,
    code_challenge: await client.calculatePKCECodeChallenge(codeVerifier),
    code_challenge_method: 'S256',
  });
  return { url, pending: { idpId: idp.id, state, codeVerifier, nonce } };
}

/**
 * The upstream's answer at `callbackUrl` (the redirect URI with its query): the code exchange,
 * checked against the pending state, nonce and PKCE verifier; then the ID token's claims, with
 * userinfo when they carry no email. Throws when any of it fails.
 */
export async function finishUpstreamAuthorization(
  outbound: Outbound,
  idp: IdpWithSecret,
  callbackUrl: URL,
  pending: UpstreamAuthorization,
): Promise<ExternalProfile> {
  const config = await discoverUpstream(idp, outbound);
  const tokens = await client.authorizationCodeGrant(config, callbackUrl, {
    pkceCodeVerifier: pending.codeVerifier,
    expectedState: pending.state,
    expectedNonce: pending.nonce,
    idTokenExpected: true,
  });
  const claims = tokens.claims()!;
  let info: Record<string, unknown> = { ...claims };
  if (!claims.email) info = { ...info, ...(await client.fetchUserInfo(config, tokens.access_token, claims.sub)) };
  return {
    sub: claims.sub,
    email: info.email as string | undefined,
    emailVerified: info.email_verified === true,
    givenName: info.given_name as string | undefined,
    familyName: info.family_name as string | undefined,
    name: info.name as string | undefined,
    preferredUsername: info.preferred_username as string | undefined,
  };
}
