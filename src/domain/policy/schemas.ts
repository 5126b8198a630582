import { z } from 'zod';

/**
 * The settings of each policy kind, with the built-in defaults. An instance stores its default
 * for each kind; an org may store a whole-object override, and resetting it removes the row.
 */
const color = z.string().regex(/^#[0-9a-fA-F]{6}$/, 'must be a #rrggbb colour');
/**
 * Links the pages show and addresses a browser is sent on to: http(s) only, never javascript:,
 * data: or the like (z.url() alone takes any scheme).
 */
export const httpUrl = z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' });
const url = httpUrl.or(z.literal(''));

/** ZITADEL's second factor types: otp (here `totp`, the name Tessera's API has always used) and u2f (a passkey after the password). */
export const secondFactors = ['totp', 'u2f'] as const;
/** ZITADEL's passwordlessType: whether a passkey alone signs in. */
export const passwordlessTypes = ['allowed', 'not_allowed'] as const;

export const loginPolicySchema = z
  .object({
    allowUsernamePassword: z.boolean().default(true),
    allowRegister: z.boolean().default(false),
    allowExternalIdp: z.boolean().default(false),
    /** ids of the IdPs offered on the login page (instance IdPs or the org's own) */
    idpIds: z.array(z.string()).default([]),
    forceMfa: z.boolean().default(false),
    forceMfaLocalOnly: z.boolean().default(false),
    hidePasswordReset: z.boolean().default(false),
    ignoreUnknownUsernames: z.boolean().default(false),
    allowDomainDiscovery: z.boolean().default(true),
    disableLoginWithEmail: z.boolean().default(false),
    disableLoginWithPhone: z.boolean().default(true),
    secondFactors: z.array(z.enum(secondFactors)).default(['totp', 'u2f']),
    passwordlessType: z.enum(passwordlessTypes).default('allowed'),
    /** After a password sign-in, users without a passkey are asked to add one (they may skip). */
    promptPasskeyAfterPassword: z.boolean().default(false),
    passwordCheckLifetimeS: z
      .number()
      .int()
      .min(0)
      .default(240 * 3600),
    secondFactorCheckLifetimeS: z
      .number()
      .int()
      .min(0)
      .default(18 * 3600),
    defaultRedirectUri: url.default(''),
  })
  .strict();

export const passwordComplexityPolicySchema = z
  .object({
    minLength: z.number().int().min(1).max(72).default(8),
    hasUppercase: z.boolean().default(true),
    hasLowercase: z.boolean().default(true),
    hasNumber: z.boolean().default(true),
    hasSymbol: z.boolean().default(false),
    /** refuse the passwords most often found in data breaches (a list bundled with Tessera) */
    refuseBreachedPasswords: z.boolean().default(true),
  })
  .strict();

export const lockoutPolicySchema = z
  .object({
    /** 0 disables lockout */
    maxPasswordAttempts: z.number().int().min(0).default(10),
    showLockoutFailures: z.boolean().default(false),
  })
  .strict();

export const domainPolicySchema = z
  .object({
    userLoginMustBeDomain: z.boolean().default(true),
    validateOrgDomains: z.boolean().default(true),
    smtpSenderAddressMatchesInstanceDomain: z.boolean().default(false),
  })
  .strict();

export const labelPolicySchema = z
  .object({
    primaryColor: color.default('#5469d4'),
    backgroundColor: color.default('#fafafa'),
    warnColor: color.default('#cd3d56'),
    fontColor: color.default('#000000'),
    primaryColorDark: color.default('#a5b4fc'),
    backgroundColorDark: color.default('#111827'),
    warnColorDark: color.default('#ff3b5b'),
    fontColorDark: color.default('#ffffff'),
    fontFamily: z.string().max(200).default(''),
    hideLoginNameSuffix: z.boolean().default(false),
    disableWatermark: z.boolean().default(false),
  })
  .strict();

export const privacyPolicySchema = z
  .object({
    tosLink: url.default(''),
    privacyLink: url.default(''),
    helpLink: url.default(''),
    supportEmail: z.email().or(z.literal('')).default(''),
  })
  .strict();

export const notificationPolicySchema = z
  .object({
    passwordChange: z.boolean().default(true),
  })
  .strict();

export const policySchemas = {
  login: loginPolicySchema,
  password_complexity: passwordComplexityPolicySchema,
  lockout: lockoutPolicySchema,
  domain: domainPolicySchema,
  label: labelPolicySchema,
  privacy: privacyPolicySchema,
  notification: notificationPolicySchema,
} as const;

export type PolicyKind = keyof typeof policySchemas;
export const policyKinds = Object.keys(policySchemas) as PolicyKind[];
export type PolicySettings<K extends PolicyKind> = z.infer<(typeof policySchemas)[K]>;

export function builtInDefault<K extends PolicyKind>(kind: K): PolicySettings<K> {
  return policySchemas[kind].parse({}) as PolicySettings<K>;
}

/**
 * A partial update's body: the kind's fields, each optional and without its default, so a field
 * left out keeps its current value instead of falling back to the built-in one.
 */
export function policyPatchSchema<K extends PolicyKind>(kind: K) {
  const shape = policySchemas[kind].shape as Record<string, z.ZodType>;
  const optional = (schema: z.ZodType) => (schema instanceof z.ZodDefault ? (schema.unwrap() as z.ZodType) : schema).optional();
  return z.object(Object.fromEntries(Object.entries(shape).map(([field, schema]) => [field, optional(schema)]))).strict();
}
