import type { Knex } from 'knex';
import { staleVersion } from '../shared/errors.js';

/** Tables that belong to the installation rather than to one instance (how a request finds its instance). */
export type InstallationTable = 'instances' | 'instance_domains';

/** byId's statement per table (a table name is never the client's). */
const byIdSql = new Map<string, string>();

/** A table name with an alias, as `join` takes it: 'org_domains as d'. */
type Aliased = `${string} as ${string}`;

/**
 * The one place instance scoping happens. Repositories receive a Scope and reach tables only
 * through it: every read, update and delete is filtered by instance, every insert is stamped with
 * it, and every join matches the joined rows' instance too. The connection itself stays private,
 * so a repository cannot name another instance or run SQL of its own beside a scoped query.
 */
export class Scope {
  readonly #db: Knex | Knex.Transaction;

  constructor(
    db: Knex | Knex.Transaction,
    readonly instanceId: string,
  ) {
    this.#db = db;
  }

  /** Whether this scope runs inside a transaction (request memos are not used there: src/db/request-memo.ts). */
  get inTransaction(): boolean {
    return (this.#db as Knex.Transaction).isTransaction === true;
  }

  /** A query builder on `table` already restricted to this instance. Also a scoped subquery (whereExists, whereIn). */
  table<T extends object = any>(table: string, alias?: string): Knex.QueryBuilder<T, any> {
    const name = alias ? `${table} as ${alias}` : table;
    return this.#db<T>(name).where(`${alias ?? table}.instance_id`, this.instanceId);
  }

  /**
   * The row of `table` with this `id` in this instance, or undefined: what
   * `table(t).where({ id }).first()` reads, with its SQL written once per table rather than built
   * by knex's query builder on every call (a visible part of a hot read's CPU, e.g. GET one user).
   */
  async byId<T extends object = any>(table: string, id: string): Promise<T | undefined> {
    let sql = byIdSql.get(table);
    if (!sql) byIdSql.set(table, (sql = this.table(table).where({ id: '' }).first().toSQL().sql));
    const result = (await this.#db.raw(sql, [this.instanceId, id, 1])) as { rows: T[] };
    return result.rows[0];
  }

  /** Inserts rows into `table`, each stamped with this instance's id. */
  insert<T extends object>(table: string, rows: T | T[]): Knex.QueryBuilder {
    const list = (Array.isArray(rows) ? rows : [rows]).map((r) => ({ ...r, instance_id: this.instanceId }));
    return this.#db(table).insert(list);
  }

  /**
   * Joins `table` ('name as alias') into `q` on `on` and on the joined row's instance, so a join
   * can never reach another instance's rows, whatever `on` says.
   */
  join<Q extends Knex.QueryBuilder>(q: Q, table: Aliased, on: (j: Knex.JoinClause) => void): Q {
    const scoped = this.#scopedOn(table, on);
    return q.join(table, function joinClause(this: Knex.JoinClause) {
      scoped(this);
    }) as Q;
  }

  /** `join`, keeping the rows of `q` that have no match. */
  leftJoin<Q extends Knex.QueryBuilder>(q: Q, table: Aliased, on: (j: Knex.JoinClause) => void): Q {
    const scoped = this.#scopedOn(table, on);
    return q.leftJoin(table, function joinClause(this: Knex.JoinClause) {
      scoped(this);
    }) as Q;
  }

  #scopedOn(table: Aliased, on: (j: Knex.JoinClause) => void): (j: Knex.JoinClause) => void {
    const alias = table.split(/\s+as\s+/i)[1];
    return (j) => {
      on(j);
      j.andOnVal(`${alias}.instance_id`, '=', this.instanceId);
    };
  }

  /** Runs fn in a transaction (joining the current one if there is one), scoped to the same instance. */
  async transaction<R>(fn: (scope: Scope) => Promise<R>): Promise<R> {
    if ((this.#db as Knex.Transaction).isTransaction) return fn(this);
    return (this.#db as Knex).transaction((trx) => fn(new Scope(trx, this.instanceId)));
  }

  /**
   * Holds a transaction-long advisory lock named `name` within this instance, for rules a unique
   * index cannot express (e.g. username uniqueness across orgs). Call it inside a transaction.
   */
  async lock(name: string): Promise<void> {
    await this.#db.raw('SELECT pg_advisory_xact_lock(hashtext(?))', [`tessera:${name}:${this.instanceId}`]);
  }

  /** The columns every update of a versioned row sets: its new version and the time of change. */
  bump(): { updated_at: Date; version: Knex.Raw } {
    return { updated_at: new Date(), version: this.expression('version + 1') };
  }

  /**
   * An SQL expression for use inside a scoped query (a computed column, an update value, a join
   * condition). It is not a statement: awaiting it runs nothing.
   */
  expression(sql: string, bindings: readonly Knex.RawBinding[] = []): Knex.Raw {
    const raw = this.#db.raw(sql, bindings as Knex.RawBinding[]);
    Object.defineProperty(raw, 'then', { value: undefined });
    return raw;
  }

  /**
   * Updates the row(s) of `table` matching `where`, bumping the version. With `expected`, only
   * while the row is still at that version: a row that moved on answers precondition_failed with
   * its current version. Returns the new version, or undefined when nothing matched.
   */
  async updateVersioned(table: string, where: Record<string, unknown>, patch: Record<string, unknown>, expected?: number): Promise<number | undefined> {
    const q = this.table(table).where(where);
    if (expected !== undefined) q.where('version', expected);
    const rows: { version: number }[] = await q.update({ ...patch, ...this.bump() }, ['version']);
    if (rows.length) return rows[0].version;
    await this.#refuseStale(table, where, expected);
    return undefined;
  }

  /** Deletes the row(s) matching `where`; with `expected`, only at that version (as updateVersioned). Returns how many went. */
  async deleteVersioned(table: string, where: Record<string, unknown>, expected?: number): Promise<number> {
    const q = this.table(table).where(where);
    if (expected !== undefined) q.where('version', expected);
    const n = await q.delete();
    if (n === 0) await this.#refuseStale(table, where, expected);
    return n;
  }

  async #refuseStale(table: string, where: Record<string, unknown>, expected: number | undefined): Promise<void> {
    if (expected === undefined) return;
    const current = await this.table(table).where(where).first('version');
    if (current) throw staleVersion(current.version, expected);
  }

  /**
   * An installation-wide table, unfiltered: only the two that route hosts to instances, for the
   * rules that must look past one instance (an instance domain is unique in the installation).
   */
  installationTable(table: InstallationTable): Knex.QueryBuilder {
    return this.#db(table);
  }
}

export function isUniqueViolation(err: unknown, constraint?: string): boolean {
  const e = err as { code?: string; constraint?: string; message?: string };
  if (e?.code !== '23505') return false;
  return !constraint || e.constraint === constraint || (e.message ?? '').includes(constraint);
}

export function isForeignKeyViolation(err: unknown): boolean {
  return (err as { code?: string })?.code === '23503';
}
