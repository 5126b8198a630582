import type { Scope } from '../../db/scope.js';
import type { UserRow, UserState } from './repository.js';

/** A user as lists name them: their preferred login name and a name for people. */
export interface UserSummary {
  id: string;
  orgId: string;
  type: 'human' | 'machine';
  state: UserState;
  preferredLoginName: string;
  name: string;
}

/** Summaries of users by id, in one query (the primary domain joined), for lists of grants and managers. */
export async function userSummariesByIds(scope: Scope, ids: string[]): Promise<Map<string, UserSummary>> {
  if (!ids.length) return new Map();
  const rows: (Pick<UserRow, 'id' | 'org_id' | 'type' | 'state' | 'username' | 'display_name' | 'given_name' | 'family_name' | 'name'> & {
    domain: string | null;
  })[] = await scope
    .leftJoin(scope.table('users', 'u'), 'org_domains as d', (j) => j.on('d.org_id', 'u.org_id').andOnVal('d.is_primary', '=', true))
    .whereIn('u.id', [...new Set(ids)])
    .select('u.id', 'u.org_id', 'u.type', 'u.state', 'u.username', 'u.display_name', 'u.given_name', 'u.family_name', 'u.name', 'd.domain');
  return new Map(
    rows.map((u) => [
      u.id,
      {
        id: u.id,
        orgId: u.org_id,
        type: u.type,
        state: u.state,
        preferredLoginName: u.domain ? `${u.username}@${u.domain}` : u.username,
        name: u.display_name || [u.given_name, u.family_name].filter(Boolean).join(' ') || u.name || u.username,
      },
    ]),
  );
}
