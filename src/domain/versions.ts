import { notFound, staleVersion } from '../shared/errors.js';
import type { Scope } from '../db/scope.js';
import type { ServiceContext } from './deps.js';

/**
 * Optimistic concurrency for callers that show a form and save it later (the console): the
 * change runs only if the row is still at the version the caller saw. The row is locked for the
 * transaction, so the check and the write cannot interleave with another writer.
 */
const versionedTables = {
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

/**
 * Rows the services lock before this one (project before grant before user grant, see
 * project-grant/service.ts): taken here first, in the same order, so a versioned change never
 * holds a child's lock while waiting for its parent's (which would deadlock with role removal).
 */
const lockParentsFirst: Partial<Record<VersionedEntity, (scope: Scope, id: string) => Promise<void>>> = {
  application: async (scope, id) => {
    await lockProjectOf(scope, 'applications', id);
  },
  project_grant: async (scope, id) => {
    await lockProjectOf(scope, 'project_grants', id);
  },
  user_grant: async (scope, id) => {
    const g = await scope.table('user_grants').where({ id }).first('project_grant_id');
    await lockProjectOf(scope, 'user_grants', id);
    if (g?.project_grant_id) await scope.table('project_grants').where({ id: g.project_grant_id }).forShare().first('id');
  },
};

async function lockProjectOf(scope: Scope, table: string, id: string): Promise<void> {
  const row = await scope.table(table).where({ id }).first('project_id');
  if (row) await scope.table('projects').where({ id: row.project_id }).forShare().first('id');
}

export async function atVersion<T>(
  ctx: ServiceContext,
  entity: VersionedEntity,
  id: string,
  expected: number | undefined,
  change: (ctx: ServiceContext, version: number) => Promise<T>,
): Promise<T> {
  return ctx.scope.transaction(async (scope) => {
    await lockParentsFirst[entity]?.(scope, id);
    const row = await scope.table(versionedTables[entity]).where({ id }).forUpdate().first('version');
    if (!row) throw notFound(entity, id);
    if (expected !== undefined && row.version !== expected) throw staleVersion(row.version, expected);
    return change({ ...ctx, scope }, row.version as number);
  });
}
