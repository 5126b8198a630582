import type { Scope } from '../../db/scope.js';
import { sha256 } from '../../shared/crypto.js';
import { pageQuery, type Page, type PageParams } from '../../db/paging.js';

export type UserState = 'initial' | 'active' | 'inactive' | 'locked';

export interface UserRow {
  id: string;
  org_id: string;
  type: 'human' | 'machine';
  username: string;
  state: UserState;
  email: string | null;
  email_verified: boolean;
  phone: string | null;
  phone_verified: boolean;
  given_name: string | null;
  family_name: string | null;
  display_name: string | null;
  nick_name: string | null;
  preferred_language: string | null;
  password_hash: string | null;
  password_changed_at: Date | null;
  password_change_required: boolean;
  failed_password_attempts: number;
  name: string | null;
  description: string | null;
  access_token_type: 'jwt' | 'opaque';
  client_secret_hash: string | null;
  version: number;
  created_at: Date;
  updated_at: Date;
}

export type NewUser = Partial<Omit<UserRow, 'version' | 'created_at' | 'updated_at'>> & Pick<UserRow, 'id' | 'org_id' | 'type' | 'username'>;

export async function insertUser(scope: Scope, row: NewUser): Promise<void> {
  await scope.insert('users', row);
}

export async function getUser(scope: Scope, id: string): Promise<UserRow | undefined> {
  return scope.byId('users', id);
}

export interface MachineKeyRow {
  id: string;
  user_id: string;
  public_jwk: Record<string, unknown>;
  expires_at: Date | null;
  created_at: Date;
}
export interface PersonalAccessTokenRow {
  id: string;
  user_id: string;
  scopes: string[];
  expires_at: Date | null;
  created_at: Date;
}

export interface UserFilter {
  orgId?: string;
  type?: 'human' | 'machine';
  state?: UserState;
  usernameContains?: string;
  limit?: number;
  offset?: number;
}

export async function listUsers(scope: Scope, f: UserFilter = {}): Promise<UserRow[]> {
  const q = scope
    .table('users')
    .orderBy('username')
    .limit(Math.min(f.limit ?? 100, 1000))
    .offset(f.offset ?? 0);
  if (f.orgId) q.where({ org_id: f.orgId });
  if (f.type) q.where({ type: f.type });
  if (f.state) q.where({ state: f.state });
  if (f.usernameContains) q.whereILike('username', `%${f.usernameContains.replace(/[%_\\]/g, '\\$&')}%`);
  return q;
}

export async function updateUser(
  scope: Scope,
  id: string,
  patch: Partial<Omit<UserRow, 'id' | 'org_id' | 'type' | 'version' | 'created_at'>>,
): Promise<number> {
  return scope
    .table('users')
    .where({ id })
    .update({ ...patch, ...scope.bump() });
}

export async function deleteUserRow(scope: Scope, id: string): Promise<number> {
  return scope.table('users').where({ id }).delete();
}

/** Users whose username equals `username` (case-insensitively), optionally only within one org. */
export async function findUsersByUsername(scope: Scope, username: string, orgId?: string): Promise<UserRow[]> {
  const q = scope.table('users').whereRaw('lower(username) = lower(?)', [username]);
  if (orgId) q.where({ org_id: orgId });
  return q;
}

/** The machine user a personal access token belongs to; nothing for unknown or expired tokens or users not active. */
export async function findUserByPersonalAccessToken(scope: Scope, token: string): Promise<(UserRow & { pat_id: string; pat_scopes: string[] }) | undefined> {
  const q = scope.join(scope.table('personal_access_tokens', 'p'), 'users as u', (j) => j.on('u.id', 'p.user_id'));
  const row = await scope
    .join(q, 'orgs as o', (j) => j.on('o.id', 'u.org_id'))
    .where('p.token_hash', sha256(token))
    .andWhere('u.state', 'active')
    .andWhere('o.state', 'active')
    .andWhere((q) => {
      q.whereNull('p.expires_at').orWhere('p.expires_at', '>', new Date());
    })
    .first('u.*', 'p.id as pat_id', 'p.scopes as pat_scopes');
  return row;
}

/** A personal access token by the sha-256 of its text (what the table holds): whose it is, until when. */
export async function findPersonalAccessTokenByHash(scope: Scope, tokenHash: string): Promise<{ user_id: string; expires_at: Date | null } | undefined> {
  return scope.table('personal_access_tokens').where({ token_hash: tokenHash }).first('user_id', 'expires_at');
}

/** A machine user's keys; expired ones count for nothing and are left out unless asked for. */
export async function listMachineKeys(scope: Scope, userId: string, opts: { includeExpired?: boolean } = {}): Promise<MachineKeyRow[]> {
  const q = scope.table('machine_keys').where({ user_id: userId }).orderBy('created_at');
  if (!opts.includeExpired)
    q.andWhere((w) => {
      w.whereNull('expires_at').orWhere('expires_at', '>', new Date());
    });
  return q;
}

export async function getMachineKey(scope: Scope, userId: string, keyId: string): Promise<MachineKeyRow | undefined> {
  return scope.table('machine_keys').where({ user_id: userId, id: keyId }).first();
}

export async function listPersonalAccessTokens(scope: Scope, userId: string): Promise<PersonalAccessTokenRow[]> {
  return scope.table('personal_access_tokens').where({ user_id: userId }).orderBy('created_at').select('id', 'user_id', 'scopes', 'expires_at', 'created_at');
}

export async function insertMachineKey(scope: Scope, row: { id: string; user_id: string; public_jwk: string; expires_at: Date | null }): Promise<void> {
  await scope.insert('machine_keys', row);
}

export async function deleteMachineKey(scope: Scope, userId: string, keyId: string): Promise<number> {
  return scope.table('machine_keys').where({ user_id: userId, id: keyId }).delete();
}

export async function insertPersonalAccessToken(
  scope: Scope,
  row: { id: string; user_id: string; token_hash: string; scopes: string[]; expires_at: Date | null },
): Promise<void> {
  await scope.insert('personal_access_tokens', row);
}

export async function deletePersonalAccessToken(scope: Scope, userId: string, tokenId: string): Promise<number> {
  return scope.table('personal_access_tokens').where({ user_id: userId, id: tokenId }).delete();
}

export async function putUserMetadata(scope: Scope, userId: string, key: string, value: string): Promise<void> {
  await scope.insert('user_metadata', { user_id: userId, key, value }).onConflict(['instance_id', 'user_id', 'key']).merge(['value']);
}

export async function deleteUserMetadata(scope: Scope, userId: string, key: string): Promise<number> {
  return scope.table('user_metadata').where({ user_id: userId, key }).delete();
}

/** Metadata as key → value. */
export async function getUserMetadata(scope: Scope, userId: string): Promise<Record<string, string>> {
  const rows: { key: string; value: string }[] = await scope.table('user_metadata').where({ user_id: userId }).orderBy('key');
  return Object.fromEntries(rows.map((r) => [r.key, r.value]));
}

/** Sortable API fields of the user list and their columns (a whitelist: nothing else reaches ORDER BY). */
export const userSortColumns = {
  username: 'username',
  createdAt: 'created_at',
  state: 'state',
  type: 'type',
  email: 'email',
  displayName: 'display_name',
} as const;

/** A user as lists show them: no credentials, nothing only sign-ins use. */
export type ListedUser = Omit<
  UserRow,
  'password_hash' | 'client_secret_hash' | 'password_changed_at' | 'password_change_required' | 'failed_password_attempts' | 'nick_name'
>;

/**
 * The columns of a ListedUser. A page of users read every column: the password and secret
 * hashes were read and parsed, 20 times a page, only to be dropped (a large part of the
 * driver's work per row: the longest strings, one more timestamp).
 */
const LISTED_COLUMNS = [
  'id',
  'org_id',
  'type',
  'username',
  'state',
  'email',
  'email_verified',
  'phone',
  'phone_verified',
  'given_name',
  'family_name',
  'display_name',
  'preferred_language',
  'name',
  'description',
  'access_token_type',
  'version',
  'created_at',
  'updated_at',
].map((c) => `users.${c}`);

/** One page of users with the total over the same filters, paged in the database (no cap on the total). */
export async function pageUsers(scope: Scope, f: Omit<UserFilter, 'limit' | 'offset'> & { text?: string }, p: PageParams): Promise<Page<ListedUser>> {
  const q = scope.table('users').select(LISTED_COLUMNS);
  if (f.text) {
    // Any of: a login name (username@verified domain), username, email, a name.
    const like = `%${f.text.replace(/[%_\\]/g, '\\$&')}%`;
    if (f.orgId) {
      // In one org, its few verified domains are read first; then every field and login name is
      // one lower-cased text (fields apart by a control character no search contains) matched
      // once per user: a fraction of the work of a case-insensitive match per field, no subquery.
      const domains: string[] = await scope.table('org_domains').where({ org_id: f.orgId, is_verified: true }).pluck('domain');
      const loginNames = domains.map(() => `, users.username || '@' || ?::text`).join('');
      q.whereRaw(`lower(concat_ws(chr(1), username, email, display_name, given_name, family_name, name${loginNames})) LIKE lower(?)`, [...domains, like]);
    } else {
      q.where((w) =>
        w
          .whereILike('username', like)
          .orWhereILike('email', like)
          .orWhereILike('display_name', like)
          .orWhereILike('given_name', like)
          .orWhereILike('family_name', like)
          .orWhereILike('name', like)
          .orWhereExists(function loginNames() {
            this.from('org_domains as d')
              .whereRaw('d.instance_id = users.instance_id AND d.org_id = users.org_id AND d.is_verified')
              .whereRaw(`users.username || '@' || d.domain ILIKE ?`, [like]);
          }),
      );
    }
  }
  if (f.orgId) q.where({ org_id: f.orgId });
  if (f.type) q.where({ type: f.type });
  if (f.state) q.where({ state: f.state });
  if (f.usernameContains) q.whereILike('username', `%${f.usernameContains.replace(/[%_\\]/g, '\\$&')}%`);
  return pageQuery<ListedUser>(q, p, userSortColumns, 'username', 'id');
}

/** Counts one wrong password; the new count and the user's state, or nothing for an unknown id. Not a change of the user: no version bump. */
export async function countFailedPasswordAttempt(scope: Scope, id: string): Promise<Pick<UserRow, 'failed_password_attempts' | 'state'> | undefined> {
  const [row] = await scope.table('users').where({ id }).increment('failed_password_attempts', 1).returning(['failed_password_attempts', 'state']);
  return row;
}

/** Clears the wrong-password count (a successful check); no version bump, as counting did not bump it. */
export async function resetFailedPasswordAttempts(scope: Scope, id: string): Promise<number> {
  return scope.table('users').where({ id }).update({ failed_password_attempts: 0 });
}

/** Human users in one of `states` whose email is `email` (case-insensitive), optionally of one org; at most `limit`. */
export async function findHumansByEmail(scope: Scope, email: string, opts: { orgId?: string | null; states: UserState[]; limit: number }): Promise<UserRow[]> {
  const q = scope.table('users').where({ type: 'human' }).whereIn('state', opts.states).whereRaw('lower(email) = lower(?)', [email]);
  if (opts.orgId) q.where({ org_id: opts.orgId });
  return q.limit(opts.limit);
}
