/**
 * The `amr` claim (RFC 8176) with ZITADEL's values (internal/api/oidc/amr.go), so relying parties
 * written for ZITADEL read it unchanged: `pwd` a password, `otp` a one-time code (TOTP or a
 * recovery code), `user` a passkey (user presence), and `mfa` once two of those were checked or a
 * passkey signed in alone (it is possession plus user verification). Tessera adds `fed` for a
 * sign-in through an external IdP, which ZITADEL leaves out and does not count as a factor.
 */
const FACTORS = ['pwd', 'user', 'otp'] as const;

/** amr of a passwordless sign-in: a passkey with user verification. */
export const PASSWORDLESS_AMR = ['user', 'mfa'];

/** The amr a login finishes with: the methods it used, in a stable order, and `mfa` where it applies. */
export function amrOf(methods: string[]): string[] {
  const used = new Set(methods);
  const out = [...FACTORS.filter((f) => used.has(f)), ...[...used].filter((m) => m !== 'mfa' && !(FACTORS as readonly string[]).includes(m)).sort()];
  if (used.has('mfa') || FACTORS.filter((f) => used.has(f)).length >= 2) out.push('mfa');
  return out;
}

/** Whether a session's amr includes a second factor (its checks follow secondFactorCheckLifetime). */
export const hasSecondFactor = (amr: string[]) => amr.includes('otp') || amr.includes('user') || amr.includes('mfa');
