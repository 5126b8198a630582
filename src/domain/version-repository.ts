import type { Scope } from '../db/scope.js';

/**
 * The row locks of the version check (domain/versions.ts): each takes a row of this instance for
 * the rest of the caller's transaction. Call them inside one.
 */

/** The tables whose rows carry a version the console and the API check (If-Match). */
export const versionedTables = {
  org: 'orgs',
  user: 'users',
  project: 'projects',
  application: 'applications',
  membership: 'memberships',
  project_grant: 'project_grants',
  user_grant: 'user_grants',
  idp: 'idps',
  instance: 'instances',
} as const;
export type VersionedEntity = keyof typeof versionedTables;

/** Locks the row for update; its version, or undefined when the instance has no such row. */
export async function lockVersionedRow(scope: Scope, entity: VersionedEntity, id: string): Promise<number | undefined> {
  const row = await scope.table(versionedTables[entity]).where({ id }).forUpdate().first('version');
  return row?.version as number | undefined;
}

/** Share-locks the project a row of `table` (applications, project_grants, user_grants) belongs to. */
export async function shareLockProjectOf(scope: Scope, table: 'applications' | 'project_grants' | 'user_grants', id: string): Promise<void> {
  const row = await scope.table(table).where({ id }).first('project_id');
  if (row) await scope.table('projects').where({ id: row.project_id }).forShare().first('id');
}

/** Share-locks the project grant a user grant was made under, if any. */
export async function shareLockGrantOfUserGrant(scope: Scope, userGrantId: string): Promise<void> {
  const g = await scope.table('user_grants').where({ id: userGrantId }).first('project_grant_id');
  if (g?.project_grant_id) await scope.table('project_grants').where({ id: g.project_grant_id }).forShare().first('id');
}
