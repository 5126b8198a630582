import { AsyncLocalStorage } from 'node:async_hooks';
import type { Knex } from 'knex';
import type { Scope } from './scope.js';

/**
 * Reads remembered for the life of one HTTP request. oidc-provider asks for the same user from
 * several hooks of one request (findAccount, loadExistingGrant, the login-age check, the end of
 * the login), each a round trip; within a request they now share one read. Nothing outlives the
 * request, so a lock or deactivation is seen by the next request at once (issue 11). Any write
 * statement that names a remembered table, run from within the request, forgets that table's
 * entries (the knex 'query' event runs in the caller's async context), and reads inside a
 * transaction never use the memo.
 */

const memos = new AsyncLocalStorage<Map<string, Promise<unknown>>>();
const WRITE = /^\s*(insert|update|delete|with|merge|truncate)\b/i;
const TABLES = ['users'] as const;
type Table = (typeof TABLES)[number];
const MENTIONS = new Map<Table, RegExp>(TABLES.map((t) => [t, new RegExp(`\\b${t}\\b`, 'i')]));

/** Koa middleware: a fresh memo for the request. */
export function requestMemo() {
  return (_ctx: unknown, next: () => Promise<unknown>): Promise<unknown> => memos.run(new Map(), next);
}

/** Forgets remembered rows when the request itself writes their table (register once per knex). */
const watched = new WeakSet<Knex>();
export function forgetOnWrites(knex: Knex): void {
  if (watched.has(knex)) return;
  watched.add(knex);
  knex.on('query', (q: { sql?: string }) => {
    const memo = memos.getStore();
    if (!memo?.size || !q.sql || !WRITE.test(q.sql)) return;
    for (const [table, re] of MENTIONS) {
      if (!re.test(q.sql)) continue;
      for (const key of memo.keys()) if (key.startsWith(`${table}:`)) memo.delete(key);
    }
  });
}

/** `load` once per request for (table, instance, id); outside a request or in a transaction, every time. */
export function memoized<T>(scope: Scope, table: Table, id: string, load: () => PromiseLike<T>): Promise<T> {
  const memo = memos.getStore();
  if (!memo || scope.inTransaction) return Promise.resolve(load());
  const key = `${table}:${scope.instanceId}:${id}`;
  const known = memo.get(key) as Promise<T> | undefined;
  if (known) return known;
  // Promise.resolve: a knex builder runs its query each time it is awaited; a promise runs it once.
  const p = Promise.resolve(load());
  memo.set(key, p);
  p.catch(() => {
    if (memo.get(key) === p) memo.delete(key);
  });
  return p;
}
