import type { UserRow } from './repository.js';

/**
 * A user row as a per-process cache keeps it: no password or client secret hash ever sits there.
 * Typed as the row it came from, so kept rows serve the same readers; none of those reads a hash
 * (the checks that need one, sign-in and client authentication, read the row from the database).
 */
export function withoutSecrets(user: UserRow): UserRow {
  const { password_hash: _p, client_secret_hash: _c, ...rest } = user;
  return rest as UserRow;
}
