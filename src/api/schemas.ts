import { z } from 'zod';

/** Schemas shared by every API: errors, ids, lists. */

export const problemSchema = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    code: z.string().meta({ description: 'stable machine-readable reason, e.g. project_grant.roles_not_subset' }),
    category: z.string().optional().meta({ description: 'the broad class: not_found, permission_denied, precondition_failed, ...' }),
    detail: z.string(),
    details: z.record(z.string(), z.unknown()).optional(),
  })
  .meta({ id: 'Problem' });

export const id = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9_-]+$/, 'not an id');
/**
 * The `id` of a create call: refused. Ids are unique across the instance's orgs, so an id the
 * caller chose would answer "taken" for what exists in orgs it cannot see; the server chooses.
 */
export const noChosenId = z
  .never({ error: 'ids are chosen by the server: leave id out' })
  .optional()
  .meta({ description: 'refused: the server chooses ids (one chosen by the caller would tell which ids exist in other orgs)' });

/** An application's `clientId` on create: refused, for the same reason (client ids are unique in the instance). */
export const noChosenClientId = z
  .never({ error: 'client ids are chosen by the server: leave clientId out' })
  .optional()
  .meta({ description: 'refused: the server chooses client ids (one chosen by the caller would tell which exist in other orgs)' });

export const timestamp = z.iso.datetime({ offset: true }).meta({ description: 'RFC 3339 time' });

/** Rows come from PostgreSQL with Date objects; the API speaks RFC 3339 strings. */
export function iso(d: Date | string | null | undefined): string | null {
  if (d === null || d === undefined) return null;
  return (d instanceof Date ? d : new Date(d)).toISOString();
}

export const versioned = { version: z.number().int().meta({ description: 'sent as ETag; send it back as If-Match' }) };

const bool = z.enum(['true', 'false']).transform((v) => v === 'true');

/** offset/limit/sort/asc, shared by every list; each list adds its own filters. */
export function listQuery<F extends z.ZodRawShape, S extends readonly [string, ...string[]]>(sortable: S, filters: F) {
  return z.object({
    offset: z.coerce.number().int().min(0).default(0),
    limit: z.coerce.number().int().min(1).max(1000).default(100),
    sort: z
      .enum(sortable)
      .optional()
      .meta({ description: `sort field, one of ${sortable.join(', ')}` }),
    asc: bool.default(true),
    ...filters,
  });
}

export function listOf<T extends z.ZodType>(item: T) {
  return z.object({
    details: z.object({ totalResult: z.number().int(), offset: z.number().int(), limit: z.number().int() }),
    result: z.array(item),
  });
}

export interface ListParams {
  offset: number;
  limit: number;
  sort?: string;
  asc: boolean;
}

/**
 * Filters, sorts and slices an in-memory list, for the few small lists still read whole (a
 * project's roles, granted projects, IdPs). Lists that can grow (users, projects, grants, apps,
 * members, orgs) page in the database with pageQuery (src/db/paging.ts) instead.
 */
export function page<T extends object>(
  items: T[],
  p: ListParams,
  filter: (item: T) => boolean = () => true,
): { details: { totalResult: number; offset: number; limit: number }; result: T[] } {
  const kept = items.filter(filter);
  if (p.sort) {
    const key = p.sort;
    kept.sort((a, b) => compare((a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key]) * (p.asc ? 1 : -1));
  }
  return { details: { totalResult: kept.length, offset: p.offset, limit: p.limit }, result: kept.slice(p.offset, p.offset + p.limit) };
}

function compare(a: unknown, b: unknown): number {
  if (a === b) return 0;
  if (a === null || a === undefined) return 1;
  if (b === null || b === undefined) return -1;
  return String(a).localeCompare(String(b), 'en', { numeric: true });
}

/** Case-insensitive "contains" for text filters. */
export function contains(value: unknown, needle: string | undefined): boolean {
  return (
    needle === undefined ||
    String(value ?? '')
      .toLowerCase()
      .includes(needle.toLowerCase())
  );
}
