import type { SecretBox } from '../shared/crypto.js';

/**
 * Tessera's own web apps (the console, the account page) are OIDC clients of the instance
 * they run in, as ZITADEL's console is. They are not stored: each provider (one per instance and
 * origin) answers them from this table, so their redirect URIs are always exactly the origin the
 * browser uses ({origin}/ui/console/callback) and never go stale when domains change.
 *
 * They are confidential clients whose secret is derived from the master key per instance; the
 * app exchanges its codes in-process (src/webapp/relying-party.ts), so the secret never travels.
 */
export const BUILT_IN_CLIENTS = {
  'tessera-console': { name: 'Tessera Console', base: '/ui/console' },
  'tessera-account': { name: 'Tessera Account', base: '/ui/account' },
} as const;

export type BuiltInClientId = keyof typeof BUILT_IN_CLIENTS;
export const CONSOLE_CLIENT_ID: BuiltInClientId = 'tessera-console';
export const ACCOUNT_CLIENT_ID: BuiltInClientId = 'tessera-account';

export const isBuiltInClient = (clientId: string): clientId is BuiltInClientId => Object.hasOwn(BUILT_IN_CLIENTS, clientId);

/** Where a built-in app receives its code, and where the provider sends the browser after sign-out. */
export function builtInRedirects(clientId: BuiltInClientId, origin: string): { redirectUri: string; postLogoutRedirectUri: string } {
  const base = `${origin}${BUILT_IN_CLIENTS[clientId].base}`;
  return { redirectUri: `${base}/callback`, postLogoutRedirectUri: `${base}/signed-out` };
}

export function builtInClientSecret(box: SecretBox, instanceId: string, clientId: BuiltInClientId): string {
  return box.derive(`builtin-client:${instanceId}:${clientId}`);
}

/** The client metadata oidc-provider sees: code + PKCE, first party (no consent page), exact URIs. */
export function builtInClientMetadata(clientId: BuiltInClientId, origin: string, signingAlg: string): Record<string, unknown> {
  const { redirectUri, postLogoutRedirectUri } = builtInRedirects(clientId, origin);
  return {
    client_id: clientId,
    client_name: BUILT_IN_CLIENTS[clientId].name,
    application_type: 'web',
    token_endpoint_auth_method: 'client_secret_basic',
    // The real comparison is constant-time against the derived secret (ClientDirectory.verifySecret).
    client_secret: 'unusable-builtin',
    response_types: ['code'],
    grant_types: ['authorization_code'],
    redirect_uris: [redirectUri],
    post_logout_redirect_uris: [postLogoutRedirectUri],
    id_token_signed_response_alg: signingAlg,
    require_auth_time: true,
    tessera_kind: 'builtin',
    tessera_skip_consent: true,
  };
}
