import type { Knex } from 'knex';

/**
 * The one place instance scoping happens. Repositories receive a Scope and reach tables only
 * through it, so every read, update and delete is filtered by instance and every insert is
 * stamped with it. A repository cannot name another instance.
 */
export class Scope {
  constructor(readonly db: Knex | Knex.Transaction, readonly instanceId: string) {}

  /** A query builder on `table` already restricted to this instance. */
  table<T extends object = any>(table: string, alias?: string): Knex.QueryBuilder<T, any> {
    const name = alias ? `${table} as ${alias}` : table;
    return this.db<T>(name).where(`${alias ?? table}.instance_id`, this.instanceId);
  }

  /** Inserts rows into `table`, each stamped with this instance's id. */
  insert<T extends object>(table: string, rows: T | T[]): Knex.QueryBuilder {
    const list = (Array.isArray(rows) ? rows : [rows]).map((r) => ({ ...r, instance_id: this.instanceId }));
    return this.db(table).insert(list);
  }

  /** Runs fn in a transaction (joining the current one if there is one), scoped to the same instance. */
  async transaction<R>(fn: (scope: Scope) => Promise<R>): Promise<R> {
    if ((this.db as Knex.Transaction).isTransaction) return fn(this);
    return (this.db as Knex).transaction((trx) => fn(new Scope(trx, this.instanceId)));
  }

  get raw() {
    return this.db.raw.bind(this.db);
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
