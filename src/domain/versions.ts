import { DomainError, notFound } from '../shared/errors.js';
import type { ServiceContext } from './deps.js';

/**
 * Optimistic concurrency for callers that show a form and save it later (the console): the
 * change runs only if the row is still at the version the caller saw. The row is locked for the
 * transaction, so the check and the write cannot interleave with another writer.
 */
const versionedTables = { org: 'orgs', user: 'users', project: 'projects', application: 'applications', membership: 'memberships' } as const;
export type VersionedEntity = keyof typeof versionedTables;

export async function atVersion<T>(
  ctx: ServiceContext, entity: VersionedEntity, id: string, expected: number | undefined, change: (ctx: ServiceContext) => Promise<T>,
): Promise<T> {
  return ctx.scope.transaction(async (scope) => {
    const row = await scope.table(versionedTables[entity]).where({ id }).forUpdate().first('version');
    if (!row) throw notFound(entity, id);
    if (expected !== undefined && row.version !== expected) {
      throw new DomainError('precondition_failed', `the ${entity} was changed meanwhile (now at version ${row.version}, not ${expected})`,
        'precondition_failed', { currentVersion: row.version });
    }
    return change({ ...ctx, scope });
  });
}
