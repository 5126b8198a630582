import type { Context } from 'koa';
import type { Scope } from '../db/scope.js';
import { DomainError, notFound } from '../shared/errors.js';

/**
 * Optimistic concurrency on the rows' `version` column. The row is locked for the rest of the
 * request's transaction, so the check and the write it guards cannot interleave with another
 * writer. Without If-Match the write goes ahead (last writer wins), as HTTP allows.
 */
export async function checkIfMatch(scope: Scope, header: string, table: string, where: Record<string, unknown>): Promise<number> {
  const row = await scope.table(table).where(where).forUpdate().first('version');
  if (!row) throw notFound(table.replace(/s$/, '').replace(/_/g, ' '));
  const wanted = parseEtag(header);
  if (wanted !== undefined && wanted !== row.version) {
    throw new DomainError('precondition_failed', `the resource is at version ${row.version}, not ${wanted}`, 'precondition_failed', {
      currentVersion: row.version,
    });
  }
  return row.version as number;
}

function parseEtag(header: string): number | undefined {
  const value = header.trim();
  if (!value || value === '*') return undefined;
  const m = /^(?:W\/)?"?(\d+)"?$/.exec(value);
  if (!m) throw new DomainError('invalid_input', 'If-Match must be a version as sent in ETag, e.g. "3"', 'invalid_if_match');
  return Number(m[1]);
}

export function setEtag(koa: Context, version: number): void {
  koa.set('ETag', `"${version}"`);
}
