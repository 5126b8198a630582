import type { Scope } from '../../db/scope.js';
import { activeRoleGrantsQuery } from '../user-grant/repository.js';

/** The reads of the client-use rule (client-use.ts). */

/** A user's state with their org's, in one indexed read: what must hold at every call. */
export async function principalStates(scope: Scope, userId: string): Promise<{ userState: string; orgId: string; orgState: string } | undefined> {
  const row = await scope
    .join(scope.table('users', 'u'), 'orgs as o', (j) => j.on('o.id', 'u.org_id'))
    .where('u.id', userId)
    .first('u.state as user_state', 'u.org_id', 'o.state as org_state');
  return row ? { userState: row.user_state, orgId: row.org_id, orgState: row.org_state } : undefined;
}

/** When each of the user's active role grants on the project expires (null: never); none: no grant. */
export async function activeGrantExpiries(scope: Scope, userId: string, projectId: string): Promise<(number | null)[]> {
  const rows: { expires_at: Date | string | null }[] = await activeRoleGrantsQuery(scope, userId, [projectId]);
  return rows.map((r) => (r.expires_at ? new Date(r.expires_at).getTime() : null));
}
