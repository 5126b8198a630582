import { forgetOnWrites } from './request-memo.js';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { PGlite, types } from '@electric-sql/pglite';
import knexFactory, { type Knex } from 'knex';
import ClientPgLite from 'knex-pglite';
import pg from 'pg';
import { migrationSource } from '../../migrations/index.js';
import { lockDataDir } from './data-dir-lock.js';
import { PreparingPgClient } from './prepared-statements.js';

// Return bigint/numeric counts as numbers and keep timestamps as Date.
pg.types.setTypeParser(20, (v) => Number(v));

/**
 * PGlite reads values as PostgreSQL's pg driver does (above, and its defaults): bigint as a
 * number, and bytea as a Buffer, not a bare Uint8Array, which Koa would send as JSON
 * ({"0":137,…}) and Buffer methods would not find. bytea arrives in hex output: \x89504e47…
 */
const pgliteParsers = {
  [types.INT8]: (v: string) => Number(v),
  [types.BYTEA]: (v: string) => Buffer.from(v.slice(2), 'hex'),
};

export type DatabaseKind = 'postgres' | 'embedded';

export interface Database {
  knex: Knex;
  kind: DatabaseKind;
  close(): Promise<void>;
}

export interface DatabaseOptions {
  url: string;
  dataDir: string;
  pool?: { min: number; max: number };
  /** PostgreSQL only: send parameterised queries as named statements (src/db/prepared-statements.ts). Default true. */
  preparedStatements?: boolean;
  /**
   * Embedded only: wait for the lock of a process that died holding the data directory (a server
   * starting). Otherwise (the CLI) a directory held by a running process fails at once.
   */
  waitForDataDir?: boolean;
}

/**
 * knex on real PostgreSQL when a URL is given, otherwise on embedded PGlite under dataDir, held by
 * this process alone until close() (src/db/data-dir-lock.ts; DataDirInUseError otherwise).
 */
export async function openDatabase(opts: DatabaseOptions): Promise<Database> {
  if (opts.url) {
    const client = opts.preparedStatements === false ? 'pg' : (PreparingPgClient as unknown as typeof knexFactory.Client);
    const knex = knexFactory({ client, connection: opts.url, pool: opts.pool ?? { min: 0, max: 10 } });
    forgetOnWrites(knex);
    return { knex, kind: 'postgres', close: () => knex.destroy() };
  }
  const dir = path.resolve(opts.dataDir, 'pg');
  mkdirSync(dir, { recursive: true });
  const release = await lockDataDir(dir, { waitForStale: opts.waitForDataDir ?? false });
  const pglite = new PGlite(dir, { parsers: pgliteParsers });
  const knex = knexFactory({
    client: ClientPgLite as unknown as typeof knexFactory.Client,
    dialect: 'postgres',
    connection: { pglite } as Knex.StaticConnectionConfig,
  });
  forgetOnWrites(knex);
  return {
    knex,
    kind: 'embedded',
    close: async () => {
      await knex.destroy();
      await release();
    },
  };
}

export async function migrateLatest(knex: Knex): Promise<string[]> {
  const [, applied] = await knex.migrate.latest({ migrationSource, tableName: 'knex_migrations' });
  return applied as string[];
}

/**
 * The migrations this code knows that the database has not applied, in one read (readiness asks
 * every few seconds; knex's migrate.list() would first make sure its tables exist).
 */
export async function pendingMigrations(knex: Knex): Promise<string[]> {
  const known = await migrationSource.getMigrations([]);
  const applied = new Set((await knex('knex_migrations').select('name')).map((r: { name: string }) => r.name));
  return known.filter((m) => !applied.has(m));
}
