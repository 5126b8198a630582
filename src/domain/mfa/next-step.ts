export type MfaStep = 'none' | 'code' | 'setup' | 'refused';

/**
 * What follows the first factor, the login pages' rule on facts: a second factor where the user
 * has one or the policy forces one. `local`: the first factor was the password (not an external
 * IdP); `wanted`: the user chose to set one up. TOTP is the second factor there is so far.
 */
export function mfaStep(p: { forceMfa: boolean; forceMfaLocalOnly: boolean; secondFactors: readonly string[] }, hasVerifiedTotp: boolean,
  local: boolean, wanted = false): MfaStep {
  const must = (p.forceMfa && (local || !p.forceMfaLocalOnly)) || (wanted && p.secondFactors.includes('totp'));
  const totpAllowed = p.secondFactors.includes('totp');
  const hasTotp = totpAllowed && hasVerifiedTotp;
  if (!hasTotp && !must) return 'none';
  if (!hasTotp && !totpAllowed) return 'refused';
  return hasTotp ? 'code' : 'setup';
}
