import { mfaStep, secondFactorStep } from '../../src/domain/mfa/next-step.js';

/** What follows the first factor: the rule the login pages follow and the console's explainer reports. */
const policy = (forceMfa: boolean, forceMfaLocalOnly = false, secondFactors: string[] = ['totp', 'u2f']) => ({ forceMfa, forceMfaLocalOnly, secondFactors });

test.each([
  ['no force, no authenticator: nothing more', policy(false), false, true, false, 'none'],
  ['no force, an authenticator: its code', policy(false), true, true, false, 'code'],
  ['forced, no authenticator: set one up', policy(true), false, true, false, 'setup'],
  ['forced, an authenticator: its code', policy(true), true, true, false, 'code'],
  ['forced for local logins only, after an external IdP: nothing more', policy(true, true), false, false, false, 'none'],
  ['forced for local logins only, after the password: set one up', policy(true, true), false, true, false, 'setup'],
  ['forced but no second factor allowed: refused', policy(true, false, []), false, true, false, 'refused'],
  ['TOTP not allowed: an enrolled authenticator does not count', policy(false, false, ['u2f']), true, true, false, 'none'],
  ['the user chose to set one up', policy(false), false, true, true, 'setup'],
] as const)('%s', (_name, p, hasTotp, local, wanted, step) => {
  expect(mfaStep(p, hasTotp, local, wanted)).toBe(step);
});

/** With passkeys (u2f): which factors the step offers. */
test.each([
  ['a passkey only: checked', policy(false), { totp: false, passkey: true }, 'check', false, true],
  ['both: either may be used', policy(true), { totp: true, passkey: true }, 'check', true, true],
  ['passkeys not allowed: a registered one does not count', policy(false, false, ['totp']), { totp: false, passkey: true }, 'none', false, false],
  ['forced, nothing yet: set up either kind', policy(true), { totp: false, passkey: false }, 'setup', true, true],
  ['forced, only passkeys allowed: set up a passkey', policy(true, false, ['u2f']), { totp: false, passkey: false }, 'setup', false, true],
  ['the user chose to set one up, only passkeys allowed', policy(false, false, ['u2f']), { totp: false, passkey: false }, 'setup', false, true],
] as const)('%s', (_name, p, has, step, totp, passkey) => {
  expect(secondFactorStep(p, has, true, step === 'setup' && !p.forceMfa)).toEqual({ step, totp, passkey });
});
