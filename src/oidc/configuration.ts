import type { Logger } from 'pino';
import type { InstanceRow } from '../domain/instance/repository.js';
import { ACR, METADATA_SCOPE, PROJECTS_ROLES_SCOPE, RESOURCE_OWNER_SCOPE } from './claims.js';
import { CLIENT_EXTRA } from './clients.js';
import type { InteractionHooks } from './interactions.js';
import { answerUnavailable } from './unavailable.js';

/**
 * The oidc-provider configuration of one instance, every option set on purpose in one place (as
 * oidc-provider's own lib/helpers/defaults.js documents its defaults). The behaviour behind the
 * function-valued options lives in its own module: account-lookup.ts (findAccount), grants.ts
 * (loadExistingGrant, issueRefreshToken), token-extras.ts (extraTokenClaims), introspection.ts,
 * interactions.ts (the interaction policy and the pages the login module renders).
 */

/** Every scope oidc-provider lists; ZITADEL's dynamic reserved scopes are recognised too (internals.ts). */
export const STATIC_SCOPES = ['openid', 'offline_access', 'profile', 'email', 'phone', PROJECTS_ROLES_SCOPE, METADATA_SCOPE, RESOURCE_OWNER_SCOPE];

/** Lifetimes, in seconds, of the short-lived artifacts; tokens follow the instance's OIDC settings. */
export const SHORT_TTL = { AuthorizationCode: 60, Interaction: 3600, DeviceCode: 600, BackchannelAuthenticationRequest: 600, PreAuthorizedCode: 300 };
export const SESSION_TTL_S = 14 * 86400;

/** What the configuration is made of, built per (instance, origin) by provider.ts. */
export interface ConfigurationParts {
  instanceId: string;
  /** read when each token is issued; a change notice rebuilds the provider with the new row */
  lifetimes: Pick<InstanceRow, 'access_token_lifetime_s' | 'id_token_lifetime_s' | 'refresh_token_idle_s' | 'refresh_token_absolute_s'>;
  adapter: unknown;
  jwks: unknown;
  cookieKeys: string[];
  /** cookies are Secure on an https origin */
  secure: boolean;
  findAccount: (...args: any[]) => Promise<unknown>;
  loadExistingGrant: (ctx: any) => Promise<unknown>;
  issueRefreshToken: (...args: any[]) => Promise<boolean>;
  extraTokenClaims: (ctx: any, token: any) => Promise<unknown>;
  introspectionAllowed: (ctx: any, client: any, token: any) => Promise<boolean>;
  interactionPolicy: unknown;
  /** the login module's pages; without them oidc-provider's plain defaults show */
  interactions?: InteractionHooks;
  log: Logger;
}

export function providerConfiguration(p: ConfigurationParts): Record<string, unknown> {
  const life = p.lifetimes;
  const pages = p.interactions;
  return {
    adapter: p.adapter,
    // Clients are the instance's applications and machine users, found by the adapter (clients.ts).
    clients: [],
    findAccount: p.findAccount,
    claims: {
      // amr and acr under openid: every ID token carries the sign-in's methods (src/login/amr.ts), as
      // ZITADEL's do, and its class (claims.ts ACR); as claims of their own oidc-provider would
      // include them only when a client asks. Both are listed in claims_supported.
      openid: ['sub', 'amr', 'acr'],
      profile: ['name', 'given_name', 'family_name', 'nickname', 'locale', 'preferred_username', 'updated_at'],
      email: ['email', 'email_verified'],
      phone: ['phone_number', 'phone_number_verified'],
    },
    scopes: [...STATIC_SCOPES],
    acrValues: [ACR.singleFactor, ACR.multiFactor],
    // claims.ts decides what an ID token carries (app flags), so oidc-provider must not strip it.
    conformIdTokenClaims: false,
    responseTypes: ['code'],
    clientAuthMethods: ['client_secret_basic', 'client_secret_post', 'private_key_jwt', 'none'],
    enabledJWA: {
      idTokenSigningAlgValues: ['RS256', 'ES256'],
      clientAuthSigningAlgValues: ['RS256', 'PS256', 'ES256', 'EdDSA'],
    },
    extraClientMetadata: { properties: [...CLIENT_EXTRA] },
    allowOmittingSingleRegisteredRedirectUri: false,
    clockTolerance: 5,
    pkce: { required: () => true },
    jwks: p.jwks,
    cookies: {
      keys: p.cookieKeys,
      long: { signed: true, httpOnly: true, sameSite: 'lax', secure: p.secure },
      short: { signed: true, httpOnly: true, sameSite: 'lax', secure: p.secure },
    },
    features: {
      // Never in production: the login pages are Tessera's own (src/login).
      devInteractions: { enabled: false },
      // No relying party of ours uses DPoP yet.
      dPoP: { enabled: false },
      // Harmless, and FAPI-ready.
      pushedAuthorizationRequests: { enabled: true, requirePushedAuthorizationRequests: false },
      resourceIndicators: { enabled: false },
      claimsParameter: { enabled: false },
      clientCredentials: { enabled: true },
      introspection: { enabled: true, allowedPolicy: p.introspectionAllowed },
      // Only the client a token was issued to may revoke it.
      revocation: { enabled: true, allowedPolicy: (_ctx: any, caller: any, token: any) => caller.clientId === token.clientId },
      userinfo: { enabled: true },
      rpInitiatedLogout: {
        enabled: true,
        ...(pages
          ? {
              logoutSource: (ctx: any, form: string) => pages.logoutPage(ctx, form),
              postLogoutSuccessSource: (ctx: any) => pages.loggedOutPage(ctx, ctx.oidc.client?.clientName ?? ''),
            }
          : {}),
      },
    },
    interactions: { url: (_ctx: any, interaction: any) => pages?.url(interaction.uid) ?? `/interaction/${interaction.uid}`, policy: p.interactionPolicy },
    issueRefreshToken: p.issueRefreshToken,
    // Rotated on every use; reusing a rotated token revokes the family.
    rotateRefreshToken: true,
    loadExistingGrant: p.loadExistingGrant,
    extraTokenClaims: p.extraTokenClaims,
    ttl: {
      ...SHORT_TTL,
      AccessToken: () => life.access_token_lifetime_s,
      ClientCredentials: () => life.access_token_lifetime_s,
      IdToken: () => life.id_token_lifetime_s,
      // Idle lifetime per token, never past the family's absolute lifetime.
      RefreshToken: (_ctx: any, token: any) => {
        const familyAge = token.iiat ? Math.floor(Date.now() / 1000) - token.iiat : 0;
        return Math.max(1, Math.min(life.refresh_token_idle_s, life.refresh_token_absolute_s - familyAge));
      },
      Grant: () => life.refresh_token_absolute_s,
      Session: () => SESSION_TTL_S,
    },
    ...(pages
      ? {
          async renderError(ctx: any, out: Record<string, string>, error: any) {
            // An unreachable dependency is 503 and says so (unavailable.ts), not a generic error.
            const shown = answerUnavailable.renderedPage(ctx, out, error)
              ? { error: 'temporarily_unavailable', error_description: 'Sign-in is briefly unavailable. Please try again in a moment.' }
              : { error: out.error, error_description: out.error_description };
            await pages.errorPage(ctx, shown);
            if (error?.status >= 500) p.log.error({ err: error, instanceId: p.instanceId }, 'oidc error');
          },
        }
      : {}),
  };
}
