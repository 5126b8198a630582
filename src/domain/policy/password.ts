import type { PolicySettings } from './schemas.js';

/** Longer inputs are refused before hashing, so nobody can make argon2 chew on megabytes. */
export const MAX_PASSWORD_LENGTH = 256;

/** The rules of a password complexity policy that `password` fails, as messages; empty when it passes. */
export function checkPasswordComplexity(policy: PolicySettings<'password_complexity'>, password: string): string[] {
  const unmet: string[] = [];
  if (password.length > MAX_PASSWORD_LENGTH) return [`must be at most ${MAX_PASSWORD_LENGTH} characters`];
  if (password.length < policy.minLength) unmet.push(`must be at least ${policy.minLength} characters`);
  if (policy.hasUppercase && !/\p{Lu}/u.test(password)) unmet.push('must contain an uppercase letter');
  if (policy.hasLowercase && !/\p{Ll}/u.test(password)) unmet.push('must contain a lowercase letter');
  if (policy.hasNumber && !/\p{Nd}/u.test(password)) unmet.push('must contain a number');
  if (policy.hasSymbol && !/[^\p{L}\p{Nd}]/u.test(password)) unmet.push('must contain a symbol');
  return unmet;
}
