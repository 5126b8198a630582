import { dictionary } from '@zxcvbn-ts/language-common';
import type { PolicySettings } from './schemas.js';

/** Longer inputs are refused before hashing, so nobody can make argon2 chew on megabytes. */
export const MAX_PASSWORD_LENGTH = 256;

/** One rule of the password complexity policy that a password fails; `n` is the length it names. */
export type UnmetPasswordRule =
  { rule: 'tooLong'; n: number } | { rule: 'minLength'; n: number } | { rule: 'uppercase' | 'lowercase' | 'number' | 'symbol' | 'breached' };

let breachedPasswords: Set<string> | undefined;

/**
 * Whether the password is one of the ~49,000 passwords most often found in public breaches,
 * ranked by zxcvbn-ts (@zxcvbn-ts/language-common, bundled: nothing is fetched at run time).
 * The list is lower case, and so is the comparison: `Password1` is `password1`, which attackers
 * try among the first.
 */
export function isBreachedPassword(password: string): boolean {
  breachedPasswords ??= new Set(dictionary['passwords-common'].map((p) => p.toLowerCase()));
  return breachedPasswords.has(password.normalize('NFKC').toLowerCase());
}

/**
 * The rules of a password complexity policy that `password` fails; empty when it passes. This is
 * the one place the rules are checked: the APIs word each rule in English (passwordRuleMessage),
 * the pages in the reader's language.
 */
export function unmetPasswordRules(policy: PolicySettings<'password_complexity'>, password: string): UnmetPasswordRule[] {
  if (password.length > MAX_PASSWORD_LENGTH) return [{ rule: 'tooLong', n: MAX_PASSWORD_LENGTH }];
  const unmet: UnmetPasswordRule[] = [];
  if (password.length < policy.minLength) unmet.push({ rule: 'minLength', n: policy.minLength });
  if (policy.hasUppercase && !/\p{Lu}/u.test(password)) unmet.push({ rule: 'uppercase' });
  if (policy.hasLowercase && !/\p{Ll}/u.test(password)) unmet.push({ rule: 'lowercase' });
  if (policy.hasNumber && !/\p{Nd}/u.test(password)) unmet.push({ rule: 'number' });
  if (policy.hasSymbol && !/[^\p{L}\p{Nd}]/u.test(password)) unmet.push({ rule: 'symbol' });
  // Only for a password that meets every other rule: "1234" is refused as too short already.
  if (unmet.length === 0 && policy.refuseBreachedPasswords && isBreachedPassword(password)) unmet.push({ rule: 'breached' });
  return unmet;
}

const messages: Record<UnmetPasswordRule['rule'], (n?: number) => string> = {
  tooLong: (n) => `must be at most ${n} characters`,
  minLength: (n) => `must be at least ${n} characters`,
  uppercase: () => 'must contain an uppercase letter',
  lowercase: () => 'must contain a lowercase letter',
  number: () => 'must contain a number',
  symbol: () => 'must contain a symbol',
  breached: () => 'is one of the passwords most often found in data breaches: choose another',
};

export const passwordRuleMessage = (u: UnmetPasswordRule): string => messages[u.rule]('n' in u ? u.n : undefined);

/** The rules `password` fails, as English messages; empty when it passes. */
export function checkPasswordComplexity(policy: PolicySettings<'password_complexity'>, password: string): string[] {
  return unmetPasswordRules(policy, password).map(passwordRuleMessage);
}
