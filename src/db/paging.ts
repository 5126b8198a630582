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

/** The window column that carries the total on every row of a page; removed from the rows. */
const TOTAL = '__page_total';

/**
 * Pages a filtered query in the database: the sorted slice with the total over the same filters
 * on every row (`count(*) OVER ()`, computed before LIMIT/OFFSET), so a page is one query and one
 * round trip. Only a page past the end (no rows at a non-zero offset) carries no total, and then
 * a plain count follows. `columns` is the whitelist of sortable API fields and the columns they
 * mean; the tiebreak column makes the order total, so pages never overlap or skip rows. The
 * queries given here have no DISTINCT or GROUP BY (the window would count before them).
 */
export async function pageQuery<T>(q: Knex.QueryBuilder, p: PageParams, columns: Record<string, string>, fallback: string, tiebreak: string): Promise<Page<T>> {
  const column = p.sort === undefined ? fallback : columns[p.sort];
  if (!column) throw new DomainError('invalid_input', `cannot sort by ${p.sort}; sortable: ${Object.keys(columns).join(', ')}`, 'list.sort_unknown');
  const order = p.asc ? 'asc' : 'desc';
  const page = q.clone().clearOrder();
  // Without a select of its own the query meant `*`: adding the window column must keep that.
  if (!hasSelect(page)) page.select('*');
  const client = (page as unknown as { client: { raw(sql: string): Knex.Raw } }).client;
  const rows = (await page
    .select(client.raw(`count(*) OVER () AS "${TOTAL}"`))
    .orderBy(column, order)
    .orderBy(tiebreak, order)
    .offset(p.offset)
    .limit(p.limit)) as Record<string, unknown>[];
  let total: number;
  if (rows.length > 0) total = Number(rows[0][TOTAL]);
  else if (p.offset === 0) total = 0;
  else {
    const counted = await q.clone().clearSelect().clearOrder().count({ n: '*' });
    total = Number((counted[0] as { n: string | number }).n);
  }
  for (const r of rows) delete r[TOTAL];
  return { total, rows: rows as T[] };
}

function hasSelect(q: Knex.QueryBuilder): boolean {
  const statements = (q as unknown as { _statements?: { grouping: string }[] })._statements ?? [];
  return statements.some((s) => s.grouping === 'columns');
}
