import type { Knex } from 'knex';
import { DomainError } from '../shared/errors.js';

/** offset/limit/sort/asc as the API lists take them; `sort` is an API field name. */
export interface PageParams {
  offset: number;
  limit: number;
  sort?: string;
  asc: boolean;
}

export interface Page<T> {
  total: number;
  rows: T[];
}

/**
 * Pages a filtered query in the database: one count over the same filters, then the sorted
 * slice. `columns` is the whitelist of sortable API fields and the columns they mean; the
 * tiebreak column makes the order total, so pages never overlap or skip rows.
 */
export async function pageQuery<T>(q: Knex.QueryBuilder, p: PageParams, columns: Record<string, string>, fallback: string, tiebreak: string): Promise<Page<T>> {
  const column = p.sort === undefined ? fallback : columns[p.sort];
  if (!column) throw new DomainError('invalid_input', `cannot sort by ${p.sort}; sortable: ${Object.keys(columns).join(', ')}`, 'list.sort_unknown');
  const order = p.asc ? 'asc' : 'desc';
  // Both at once: the count does not wait for the page (or the page for the count).
  const [counted, rows] = await Promise.all([
    q.clone().clearSelect().clearOrder().count({ n: '*' }),
    q.clone().clearOrder().orderBy(column, order).orderBy(tiebreak, order).offset(p.offset).limit(p.limit),
  ]);
  return { total: Number((counted[0] as { n: string | number }).n), rows: rows as T[] };
}
