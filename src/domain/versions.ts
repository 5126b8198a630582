import { notFound, staleVersion } from '../shared/errors.js';
import type { Scope } from '../db/scope.js';
import type { ServiceContext } from './deps.js';
import { transactionHoldingNotices } from './transaction.js';
import { lockVersionedRow, shareLockGrantOfUserGrant, shareLockProjectOf, type VersionedEntity } from './version-repository.js';

export type { VersionedEntity };

/**
 * Rows the services lock before this one (project before grant before user grant, see
 * project-grant/service.ts): taken here first, in the same order, so a versioned change never
 * holds a child's lock while waiting for its parent's (which would deadlock with role removal).
 */
const lockParentsFirst: Partial<Record<VersionedEntity, (scope: Scope, id: string) => Promise<void>>> = {
  application: (scope, id) => shareLockProjectOf(scope, 'applications', id),
  project_grant: (scope, id) => shareLockProjectOf(scope, 'project_grants', id),
  user_grant: async (scope, id) => {
    await shareLockProjectOf(scope, 'user_grants', id);
    await shareLockGrantOfUserGrant(scope, id);
  },
};

/**
 * Optimistic concurrency for callers that show a form and save it later (the console): the
 * change runs only if the row is still at the version the caller saw. The row is locked for the
 * transaction, so the check and the write cannot interleave with another writer.
 */
export async function atVersion<T>(
  ctx: ServiceContext,
  entity: VersionedEntity,
  id: string,
  expected: number | undefined,
  change: (ctx: ServiceContext, version: number) => Promise<T>,
): Promise<T> {
  return transactionHoldingNotices(ctx, async (tx) => {
    await lockParentsFirst[entity]?.(tx.scope, id);
    const version = await lockVersionedRow(tx.scope, entity, id);
    if (version === undefined) throw notFound(entity, id);
    if (expected !== undefined && version !== expected) throw staleVersion(version, expected);
    return change(tx, version);
  });
}
