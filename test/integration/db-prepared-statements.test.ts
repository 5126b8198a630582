import type { Knex } from 'knex';
import pg from 'pg';
import { openDatabase, type Database } from '../../src/db/database.js';
import { newId } from '../../src/shared/ids.js';
import { TEST_DATABASE_URL } from '../support/env.js';

/**
 * Queries go to PostgreSQL as named statements, planned once per connection
 * (src/db/prepared-statements.ts). Each database here has one connection, so
 * pg_prepared_statements (which shows a session's own statements) shows what the pool prepared.
 */

const name = `tessera_prep_${newId()
  .toLowerCase()
  .replace(/[^a-z0-9]/g, '')}`;
const url = (() => {
  const u = new URL(TEST_DATABASE_URL);
  u.pathname = `/${name}`;
  return u.toString();
})();

/** Runs sql on its own connection to `database`, as another process (a migration) would. */
async function runSql(database: string, sql: string): Promise<void> {
  const c = new pg.Client({ connectionString: database });
  await c.connect();
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
}

const opened: Database[] = [];
async function open(preparedStatements?: boolean): Promise<Knex> {
  const db = await openDatabase({ url, dataDir: '/nonexistent', pool: { min: 1, max: 1 }, preparedStatements });
  opened.push(db);
  return db.knex;
}

async function preparedOn(knex: Knex): Promise<string[]> {
  const r = (await knex.raw('SELECT statement FROM pg_prepared_statements ORDER BY prepare_time')) as { rows: { statement: string }[] };
  return r.rows.map((x) => x.statement);
}

beforeAll(async () => {
  await runSql(TEST_DATABASE_URL, `CREATE DATABASE ${name}`);
  await runSql(url, `CREATE TABLE things (id text PRIMARY KEY, label text); INSERT INTO things VALUES ('a', 'first'), ('b', 'second')`);
});

afterAll(async () => {
  await Promise.all(opened.map((db) => db.close()));
  await runSql(TEST_DATABASE_URL, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
});

test('a parameterised query is prepared once on its connection, then only executed', async () => {
  const knex = await open();
  for (let i = 0; i < 3; i++) expect(await knex('things').where({ id: 'a' }).first()).toEqual({ id: 'a', label: 'first' });
  expect(await knex('things').where({ id: 'b' }).first()).toEqual({ id: 'b', label: 'second' });
  const prepared = (await preparedOn(knex)).filter((s) => s.includes('things'));
  expect(prepared).toEqual(['select * from "things" where "id" = $1 limit $2']);
});

test('a union is prepared too (knex starts it with a parenthesis), as the login-name lookup is', async () => {
  const knex = await open();
  const union = () =>
    knex('things')
      .where({ id: 'a' })
      .select('id')
      .unionAll([knex('things').where({ label: 'second' }).select('id')], true);
  expect(await union()).toEqual([{ id: 'a' }, { id: 'b' }]);
  expect(await union()).toEqual([{ id: 'a' }, { id: 'b' }]);
  expect((await preparedOn(knex)).filter((s) => s.includes('union all'))).toEqual([
    expect.stringMatching(/^\(select "id" from "things" where "id" = \$1\) union all/),
  ]);
});

test('a query without parameters is not prepared, so a string of several statements still runs', async () => {
  const knex = await open();
  await knex.raw('SELECT 1; SELECT 2');
  expect((await preparedOn(knex)).filter((s) => s.includes('SELECT 1'))).toEqual([]);
});

test('with preparedStatements false, nothing is prepared', async () => {
  const knex = await open(false);
  expect(await knex('things').where({ id: 'a' }).first()).toEqual({ id: 'a', label: 'first' });
  expect(await preparedOn(knex)).toEqual([]);
});

test('a table that gains a column: select * answers with it (outside a transaction at once; a transaction fails once)', async () => {
  const knex = await open();
  const read = (db: Knex | Knex.Transaction) => db('things').where({ id: 'a' }).first();
  expect(await read(knex)).toEqual({ id: 'a', label: 'first' });
  // Another process migrates while this connection holds the prepared statement.
  await runSql(url, `ALTER TABLE things ADD COLUMN extra text DEFAULT 'x'`);
  expect(await read(knex)).toEqual({ id: 'a', label: 'first', extra: 'x' });
  expect(await read(knex)).toEqual({ id: 'a', label: 'first', extra: 'x' });

  // A statement first prepared before the next change, then run inside a transaction.
  const byLabel = (db: Knex | Knex.Transaction) => db('things').where({ label: 'second' }).first();
  expect(await byLabel(knex)).toMatchObject({ id: 'b' });
  await runSql(url, `ALTER TABLE things ADD COLUMN more text DEFAULT 'y'`);
  await expect(knex.transaction((trx) => byLabel(trx))).rejects.toThrow(/cached plan must not change result type/);
  expect(await knex.transaction((trx) => byLabel(trx))).toEqual({ id: 'b', label: 'second', extra: 'x', more: 'y' });
  await runSql(url, 'ALTER TABLE things DROP COLUMN extra, DROP COLUMN more');
});

test('at most 200 statements are prepared on one connection, none with more than 32 parameters; the rest run unnamed and answer the same', async () => {
  const knex = await open();
  for (let i = 0; i < 210; i++) {
    const r = (await knex.raw(`SELECT ?::int AS n${i}`, [i])) as { rows: Record<string, number>[] };
    expect(r.rows[0][`n${i}`]).toBe(i);
  }
  expect((await preparedOn(knex)).filter((s) => /AS n\d+$/.test(s))).toHaveLength(200);

  const other = await open();
  const ids = Array.from({ length: 33 }, (_, i) => (i === 0 ? 'a' : `x${i}`));
  expect(await other('things').whereIn('id', ids).select('id')).toEqual([{ id: 'a' }]);
  expect(await other('things').whereIn('id', ids.slice(0, 32)).select('id')).toEqual([{ id: 'a' }]);
  expect((await preparedOn(other)).filter((s) => s.includes('things'))).toEqual([expect.stringMatching(/\$32\)$/)]);
});
