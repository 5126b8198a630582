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
  return scope.table('users').where({ id }).first();
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

/** Whether the org's effective domain policy lets its users log in with the bare username. */
async function bareUsernameAllowed(scope: Scope, orgId: string): Promise<boolean> {
  const row =
    (await scope.table('policies').where({ kind: 'domain', org_id: orgId }).first('settings')) ??
    (await scope.table('policies').where({ kind: 'domain' }).whereNull('org_id').first('settings'));
  // The built-in default is userLoginMustBeDomain: true.
  return row?.settings?.userLoginMustBeDomain === false;
}

function single<T>(rows: T[]): T | undefined {
  return rows.length === 1 ? rows[0] : undefined;
}

/**
 * Resolves what a person types on the login page, as ZITADEL does: an exact login name across
 * the instance first (`username@{a verified domain of the user's org}`, or the bare username
 * where the org's domain policy allows it), then a verified email. An ambiguous answer is no answer.
 */
export async function findUserByLoginName(scope: Scope, loginName: string): Promise<UserRow | undefined> {
  const name = loginName.trim();
  if (!name) return undefined;
  const byDomain = await usersByDomainLoginName(scope, name);
  if (byDomain.length) return single(byDomain);
  const bare: UserRow[] = [];
  for (const u of await findUsersByUsername(scope, name)) {
    if (await bareUsernameAllowed(scope, u.org_id)) bare.push(u);
  }
  if (bare.length) return single(bare);
  const byEmail = await scope.table('users').whereRaw('lower(email) = lower(?)', [name]).andWhere({ email_verified: true });
  return single(byEmail);
}

/** Every name the user can log in with. */
/** A user's login names (`username@` each verified domain, primary first; the bare username where allowed) and the preferred one. */
export interface UserLoginNames {
  loginNames: string[];
  preferredLoginName: string;
}

/**
 * The login names of many users in one query, whatever their number and orgs: each org's verified
 * and primary domains and its domain policy (else the instance's) read together. Lists call it once
 * per page, never once per row.
 */
export async function loginNamesOfUsers(scope: Scope, users: Pick<UserRow, 'id' | 'username' | 'org_id'>[]): Promise<Map<string, UserLoginNames>> {
  const orgIds = [...new Set(users.map((u) => u.org_id))];
  const rows: { id: string; verified: string[] | null; primary_domain: string | null; domain_policy: { userLoginMustBeDomain?: boolean } | null }[] =
    orgIds.length
      ? await scope
          .table('orgs', 'o')
          .whereIn('o.id', orgIds)
          .select(
            'o.id',
            scope.expression(
              `(SELECT json_agg(d.domain ORDER BY d.is_primary DESC, d.domain) FROM org_domains d
              WHERE d.instance_id = o.instance_id AND d.org_id = o.id AND d.is_verified) AS verified`,
            ),
            scope.expression(
              `(SELECT d.domain FROM org_domains d WHERE d.instance_id = o.instance_id AND d.org_id = o.id AND d.is_primary LIMIT 1) AS primary_domain`,
            ),
            scope.expression(
              `coalesce(
              (SELECT p.settings FROM policies p WHERE p.instance_id = o.instance_id AND p.kind = 'domain' AND p.org_id = o.id LIMIT 1),
              (SELECT p.settings FROM policies p WHERE p.instance_id = o.instance_id AND p.kind = 'domain' AND p.org_id IS NULL LIMIT 1)
            ) AS domain_policy`,
            ),
          )
      : [];
  const byOrg = new Map(rows.map((r) => [r.id, r]));
  return new Map(
    users.map((u) => {
      const org = byOrg.get(u.org_id);
      const names = (org?.verified ?? []).map((d) => `${u.username}@${d}`);
      // The built-in default is userLoginMustBeDomain: true.
      if (org?.domain_policy?.userLoginMustBeDomain === false) names.push(u.username);
      const preferred = org?.primary_domain ? `${u.username}@${org.primary_domain}` : u.username;
      return [u.id, { loginNames: names, preferredLoginName: preferred }];
    }),
  );
}

export async function loginNamesOf(scope: Scope, user: Pick<UserRow, 'username' | 'org_id'>): Promise<string[]> {
  const domains = await scope
    .table('org_domains')
    .where({ org_id: user.org_id, is_verified: true })
    .orderBy([{ column: 'is_primary', order: 'desc' }, 'domain'])
    .pluck('domain');
  const names = domains.map((d: string) => `${user.username}@${d}`);
  if (await bareUsernameAllowed(scope, user.org_id)) names.push(user.username);
  return names;
}

/** `username@{primary domain of the user's org}`: the preferred_username claim. */
export async function preferredLoginName(scope: Scope, user: Pick<UserRow, 'username' | 'org_id'>): Promise<string> {
  return user.username + (await loginNameSuffix(scope, user.org_id));
}

/** What follows the username in the preferred login names of an org's users: "@{primary domain}", or '' without one. */
export async function loginNameSuffix(scope: Scope, orgId: string): Promise<string> {
  const row = await scope.table('org_domains').where({ org_id: orgId, is_primary: true }).first('domain');
  return row ? `@${row.domain}` : '';
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

/**
 * The machine user authenticating with client_credentials: its client_id is its username, or
 * one of its login names when two orgs use the same username.
 */
export async function getMachineByClientId(scope: Scope, clientId: string): Promise<UserRow | undefined> {
  const machines = (await findUsersByUsername(scope, clientId)).filter((u) => u.type === 'machine');
  if (machines.length === 1) return machines[0];
  const byLogin = await findUserByLoginName(scope, clientId);
  return byLogin?.type === 'machine' ? byLogin : undefined;
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

/** One page of users with the total over the same filters, paged in the database (no cap on the total). */
export async function pageUsers(scope: Scope, f: Omit<UserFilter, 'limit' | 'offset'> & { text?: string }, p: PageParams): Promise<Page<UserRow>> {
  const q = scope.table('users');
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
  return pageQuery<UserRow>(q, p, userSortColumns, 'username', 'id');
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

/** `username@domain` where the domain is a verified domain of the user's org: at most one user in a sound instance. */
async function usersByDomainLoginName(scope: Scope, loginName: string): Promise<UserRow[]> {
  const at = loginName.lastIndexOf('@');
  if (at <= 0 || at === loginName.length - 1) return [];
  return scope
    .join(scope.table('users', 'u'), 'org_domains as d', (j) => j.on('d.org_id', 'u.org_id'))
    .where('d.domain', loginName.slice(at + 1).toLowerCase())
    .andWhere('d.is_verified', true)
    .whereRaw('lower(u.username) = lower(?)', [loginName.slice(0, at)])
    .select('u.*');
}

/**
 * The user whose login name is exactly `username@{a verified domain of their org}`: no bare
 * username, no email. How a manager names a user of another org, who is not theirs to search.
 */
export async function findUserByExactLoginName(scope: Scope, loginName: string): Promise<UserRow | undefined> {
  return single(await usersByDomainLoginName(scope, loginName.trim()));
}

/**
 * A user as a manager names them: a user of `orgId` by username, or anyone by their exact login
 * name. Managers search only their own org; another org's user they must name exactly.
 */
export async function findUserNamedFromOrg(scope: Scope, orgId: string, name: string): Promise<UserRow | undefined> {
  const text = name.trim();
  if (!text) return undefined;
  const own = await findUsersByUsername(scope, text, orgId);
  return own.length === 1 ? own[0] : findUserByExactLoginName(scope, text);
}
