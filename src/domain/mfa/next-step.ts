export type MfaStep = 'none' | 'code' | 'setup' | 'refused';

/** Which second factors a step offers: the user's own to check, or the ones they may set up. */
export interface SecondFactorStep {
  step: 'none' | 'check' | 'setup' | 'refused';
  totp: boolean;
  passkey: boolean;
}

/**
 * What follows the first factor, the login pages' rule on facts: a second factor where the user
 * has one the policy allows (ZITADEL's secondFactors: `totp` an authenticator app, `u2f` a
 * passkey), or where the policy forces one (then the user sets one up, of a kind it allows).
 * `local`: the first factor was the password (not an external IdP); `wanted`: the user chose to
 * set one up.
 */
export function secondFactorStep(
  p: { forceMfa: boolean; forceMfaLocalOnly: boolean; secondFactors: readonly string[] },
  has: { totp: boolean; passkey: boolean },
  local: boolean,
  wanted = false,
): SecondFactorStep {
  const totpAllowed = p.secondFactors.includes('totp');
  const passkeyAllowed = p.secondFactors.includes('u2f');
  const must = (p.forceMfa && (local || !p.forceMfaLocalOnly)) || (wanted && (totpAllowed || passkeyAllowed));
  const totp = totpAllowed && has.totp;
  const passkey = passkeyAllowed && has.passkey;
  if (totp || passkey) return { step: 'check', totp, passkey };
  if (!must) return { step: 'none', totp: false, passkey: false };
  if (!totpAllowed && !passkeyAllowed) return { step: 'refused', totp: false, passkey: false };
  return { step: 'setup', totp: totpAllowed, passkey: passkeyAllowed };
}

/** The same rule for an authenticator app alone (what the access explanation reports). */
export function mfaStep(
  p: { forceMfa: boolean; forceMfaLocalOnly: boolean; secondFactors: readonly string[] },
  hasVerifiedTotp: boolean,
  local: boolean,
  wanted = false,
): MfaStep {
  const s = secondFactorStep(p, { totp: hasVerifiedTotp, passkey: false }, local, wanted).step;
  return s === 'check' ? 'code' : s;
}
