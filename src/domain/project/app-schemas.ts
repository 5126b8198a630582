import { z } from 'zod';

/**
 * An application's settings as every door takes them (the Management API, `tessera apply`'s
 * file), so a limit or a name is written once. The domain services check the rules between them
 * (src/domain/project/applications.ts).
 */
export const appTypes = z.enum(['web', 'user_agent', 'native', 'api']);
export const authMethods = z.enum(['client_secret_basic', 'client_secret_post', 'none', 'private_key_jwt']);
const uris = z.array(z.string().max(2000)).max(100);

/** Every setting but the name, type and auth method, each optional. */
export const appSettingsShape = {
  redirectUris: uris.optional(),
  postLogoutRedirectUris: uris.optional(),
  grantTypes: z.array(z.string().max(200)).max(10).optional(),
  responseTypes: z.array(z.string().max(50)).max(10).optional(),
  accessTokenType: z.enum(['jwt', 'opaque']).optional(),
  idTokenRoleAssertion: z.boolean().optional(),
  accessTokenRoleAssertion: z.boolean().optional(),
  idTokenUserinfoAssertion: z.boolean().optional(),
  clockSkewS: z.number().int().min(0).max(5).optional(),
  devMode: z.boolean().optional(),
  skipConsent: z.boolean().optional(),
  /** public keys for private_key_jwt */
  jwks: z
    .object({ keys: z.array(z.record(z.string(), z.unknown())).max(20) })
    .nullable()
    .optional(),
};

export const appName = z.string().min(1).max(200);
