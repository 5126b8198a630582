import type { Knex } from 'knex';
import type { Scope } from '../../db/scope.js';
import { findUsersByUsername, type UserRow } from './repository.js';

/**
 * Login names: what a person types on the login page, or a manager names a user by, resolved to
 * a user; and the names a user is shown and logs in with. A login name is
 * `username@{a verified domain of the user's org}`, or the bare username where the org's domain
 * policy in force allows it.
 */

/**
 * The settings of the domain policy in force for the org in `orgColumn` (its own, else the
 * instance's), as an SQL expression of a query on users or orgs. The built-in default, when
 * neither exists, is userLoginMustBeDomain: true.
 */
const effectiveDomainPolicy = (instanceColumn: string, orgColumn: string) => `coalesce(
  (SELECT p.settings FROM policies p WHERE p.instance_id = ${instanceColumn} AND p.kind = 'domain' AND p.org_id = ${orgColumn} LIMIT 1),
  (SELECT p.settings FROM policies p WHERE p.instance_id = ${instanceColumn} AND p.kind = 'domain' AND p.org_id IS NULL LIMIT 1)
)`;

function single<T>(rows: T[]): T | undefined {
  return rows.length === 1 ? rows[0] : undefined;
}

/**
 * Resolves what a person types on the login page, as ZITADEL does: an exact login name across
 * the instance first (`username@{a verified domain of the user's org}`, or the bare username
 * where the org's domain policy allows it), then a verified email. An ambiguous answer is no answer.
 */
export async function findUserByLoginName(scope: Scope, loginName: string): Promise<UserRow | undefined> {
  return (await resolveLoginName(scope, loginName)).user;
}

/**
 * findUserByLoginName, and whether the name was a login name of the user's or their email
 * (the login refuses the email where the org's login policy disables it). Every candidate in
 * one statement: `username@domain`, the bare username where the org's effective domain policy
 * allows it, a verified email; the first kind that matches anyone decides.
 *
 * `extraColumns` (expressions on the users row `u`) are read in the same statement and handed
 * back as `extra`: the password step reads the user's second factors with the name
 * (src/domain/sign-in.ts), one round trip fewer per sign-in.
 */
export async function resolveLoginName<K extends string = never>(
  scope: Scope,
  loginName: string,
  extraColumns?: Record<K, Knex.Raw>,
): Promise<{ user?: UserRow; via?: 'loginName' | 'email'; extra?: Record<K, unknown> }> {
  const name = loginName.trim();
  if (!name) return {};
  const extras = extraColumns ? Object.values<Knex.Raw>(extraColumns) : [];
  const bare = scope
    .table('users', 'u')
    .whereRaw('lower(u.username) = lower(?)', [name])
    .whereRaw(`${effectiveDomainPolicy('u.instance_id', 'u.org_id')} -> 'userLoginMustBeDomain' = 'false'::jsonb`)
    .select('u.*', ...extras, scope.expression(`'bare' AS via`));
  const email = scope
    .table('users', 'u')
    .whereRaw('lower(u.email) = lower(?)', [name])
    .andWhere('u.email_verified', true)
    .select('u.*', ...extras, scope.expression(`'email' AS via`));
  const parts = [bare, email];
  const byDomain = domainLoginNameQuery(scope, name);
  if (byDomain) parts.unshift(byDomain.select('u.*', ...extras, scope.expression(`'domain' AS via`)));
  const [first, ...rest] = parts;
  const rows: (UserRow & { via: 'domain' | 'bare' | 'email' })[] = await first.unionAll(rest, true);
  for (const kind of ['domain', 'bare', 'email'] as const) {
    const found = rows.filter((r) => r.via === kind);
    if (!found.length) continue;
    const one = single(found);
    if (!one) return {};
    const { via: _via, ...row } = one;
    const via = kind === 'email' ? 'email' : 'loginName';
    if (!extraColumns) return { user: row as UserRow, via };
    const fields = row as Record<string, unknown>;
    const extra = {} as Record<K, unknown>;
    for (const key of Object.keys(extraColumns) as K[]) {
      extra[key] = fields[key];
      delete fields[key];
    }
    return { user: row as UserRow, via, extra };
  }
  return {};
}

/** Every name the user can log in with. */
/** A user's login names (`username@` each verified domain, primary first; the bare username where allowed) and the preferred one. */
export interface UserLoginNames {
  loginNames: string[];
  preferredLoginName: string;
}

/** What an org's users' login names are made of: its verified and primary domains, and whether a bare username logs in. */
export interface OrgLoginNames {
  verified: string[];
  primaryDomain: string | null;
  bareUsername: boolean;
}

/** The login-name parts of these orgs in one query: domains and domain policy (else the instance's) read together. */
export async function orgLoginNames(scope: Scope, orgIds: string[]): Promise<Map<string, OrgLoginNames>> {
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
            scope.expression(`${effectiveDomainPolicy('o.instance_id', 'o.id')} AS domain_policy`),
          )
      : [];
  return new Map(
    rows.map((r) => [
      r.id,
      // The built-in default is userLoginMustBeDomain: true.
      { verified: r.verified ?? [], primaryDomain: r.primary_domain, bareUsername: r.domain_policy?.userLoginMustBeDomain === false },
    ]),
  );
}

/** Users' login names from their orgs' parts (orgLoginNames). */
export function loginNamesFrom(users: Pick<UserRow, 'id' | 'username' | 'org_id'>[], orgs: Map<string, OrgLoginNames>): Map<string, UserLoginNames> {
  return new Map(users.map((u) => [u.id, namesFrom(u, orgs.get(u.org_id))]));
}

function namesFrom(user: Pick<UserRow, 'username'>, org: OrgLoginNames | undefined): UserLoginNames {
  const names = (org?.verified ?? []).map((d) => `${user.username}@${d}`);
  if (org?.bareUsername) names.push(user.username);
  return { loginNames: names, preferredLoginName: org?.primaryDomain ? `${user.username}@${org.primaryDomain}` : user.username };
}

/** The login names of many users in one query, whatever their number and orgs: never once per row. */
export async function loginNamesOfUsers(scope: Scope, users: Pick<UserRow, 'id' | 'username' | 'org_id'>[]): Promise<Map<string, UserLoginNames>> {
  return loginNamesFrom(users, await orgLoginNames(scope, [...new Set(users.map((u) => u.org_id))]));
}

export async function loginNamesOf(scope: Scope, user: Pick<UserRow, 'username' | 'org_id'>): Promise<string[]> {
  return namesFrom(user, (await orgLoginNames(scope, [user.org_id])).get(user.org_id)).loginNames;
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

/**
 * The users (as `u`) whose login name is `username@domain` with the domain a verified domain of
 * their org (at most one in a sound instance); undefined for a name with no such two parts.
 */
function domainLoginNameQuery(scope: Scope, loginName: string): Knex.QueryBuilder | undefined {
  const at = loginName.lastIndexOf('@');
  if (at <= 0 || at === loginName.length - 1) return undefined;
  return scope
    .join(scope.table('users', 'u'), 'org_domains as d', (j) => j.on('d.org_id', 'u.org_id'))
    .where('d.domain', loginName.slice(at + 1).toLowerCase())
    .andWhere('d.is_verified', true)
    .whereRaw('lower(u.username) = lower(?)', [loginName.slice(0, at)]);
}

/**
 * The user whose login name is exactly `username@{a verified domain of their org}`: no bare
 * username, no email. How a manager names a user of another org, who is not theirs to search.
 */
export async function findUserByExactLoginName(scope: Scope, loginName: string): Promise<UserRow | undefined> {
  const q = domainLoginNameQuery(scope, loginName.trim());
  return q ? single<UserRow>(await q.select('u.*')) : undefined;
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
