import { createHash } from 'node:crypto';
import type { Knex } from 'knex';
import PgClient from 'knex/lib/dialects/postgres/index.js';

/**
 * knex's PostgreSQL client, sending every parameterised SELECT/INSERT/UPDATE/DELETE/WITH as a
 * named (prepared) statement, named by a hash of its SQL.
 *
 * Why: knex sends unnamed statements, so PostgreSQL parses and plans each query on every call.
 * For a list (a window count, a sort, a table with many indexes) planning is most of the
 * server's work: 0.25–0.4 ms of PostgreSQL CPU per page of 20 users, 0.1 ms prepared, measured on
 * the bench's 2-core VM, where the database shares the cores with Tessera. A statement prepared
 * once per connection is then only bound and executed; PostgreSQL re-plans it by itself after a
 * schema change.
 *
 * Bounds: PostgreSQL keeps each prepared statement and its plan in the connection's memory (the
 * login-name lookup's holds 230 KiB), so at most MAX_PER_CONNECTION distinct statements are
 * prepared on one connection, and none with more than MAX_BINDINGS parameters (a `whereIn` over
 * n values or an insert of n rows is one shape per n); those run unnamed. The bench's sign-ins
 * ran fewer than 80 distinct statements. Statements without parameters stay on the simple
 * protocol, so a raw multi-statement string works as before. `database.preparedStatements:
 * false` turns it off (PgBouncer in transaction mode before 1.21 cannot keep named statements).
 *
 * A schema change that alters what a prepared statement returns (`SELECT *` on a table that
 * gained a column, while an older process is still running) fails it once with PostgreSQL's
 * "cached plan must not change result type": that statement then runs unnamed on that
 * connection, and the query is repeated at once unless it was inside a transaction (which the
 * error has aborted; the caller sees it as any failed transaction).
 */
const MAX_PER_CONNECTION = 200;
const MAX_BINDINGS = 32;
// A union starts with its first part's parenthesis (knex writes `(select …) union all (select …)`).
const PREPARABLE = /^[\s(]*(select|insert|update|delete|with)\b/i;
const CACHED_PLAN_CHANGED = '0A000';

/** Statement names by SQL text; cleared when it grows past a bound (texts are few; names are cheap to recompute). */
const names = new Map<string, string>();

function nameOf(sql: string): string {
  let name = names.get(sql);
  if (name === undefined) {
    if (names.size >= 10_000) names.clear();
    name = `t${createHash('sha1').update(sql).digest('base64url')}`;
    names.set(sql, name);
  }
  return name;
}

interface ConnectionStatements {
  prepared: Set<string>;
  /** Names whose plan no longer matches the table (see above): run unnamed on this connection. */
  stale: Set<string>;
}

const byConnection = new WeakMap<object, ConnectionStatements>();

function statementsOf(connection: object): ConnectionStatements {
  let s = byConnection.get(connection);
  if (!s) byConnection.set(connection, (s = { prepared: new Set(), stale: new Set() }));
  return s;
}

interface QueryObject {
  sql?: string;
  bindings?: unknown[];
  options?: Record<string, unknown>;
}

interface PgErrorLike {
  code?: string;
}

interface PgClientMethods {
  _query(connection: { __knexTxId?: string }, obj: QueryObject): Promise<QueryObject>;
}

const BaseClient = PgClient as unknown as new (config: Knex.Config) => Knex.Client & PgClientMethods;

/** The name to send `obj` under on `connection`, or undefined to send it unnamed. */
function nameFor(connection: object, obj: QueryObject): string | undefined {
  if (!obj.sql || !obj.bindings?.length || obj.bindings.length > MAX_BINDINGS || obj.options?.name !== undefined || !PREPARABLE.test(obj.sql)) return undefined;
  const name = nameOf(obj.sql);
  const statements = statementsOf(connection);
  if (statements.stale.has(name)) return undefined;
  if (!statements.prepared.has(name)) {
    if (statements.prepared.size >= MAX_PER_CONNECTION) return undefined;
    statements.prepared.add(name);
  }
  return name;
}

// knex derives objects from its client (Object.create), so the logic lives in functions, not private members.
export class PreparingPgClient extends BaseClient {
  override async _query(connection: { __knexTxId?: string }, obj: QueryObject): Promise<QueryObject> {
    const name = nameFor(connection, obj);
    if (!name) return super._query(connection, obj);
    const plain = obj.options;
    obj.options = { ...plain, name };
    try {
      return await super._query(connection, obj);
    } catch (err) {
      if ((err as PgErrorLike).code !== CACHED_PLAN_CHANGED) throw err;
      const statements = statementsOf(connection);
      statements.stale.add(name);
      obj.options = plain;
      if (connection.__knexTxId !== undefined) throw err;
      return super._query(connection, obj);
    }
  }
}
