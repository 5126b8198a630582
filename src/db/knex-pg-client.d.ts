// knex's PostgreSQL client class (CommonJS, untyped), subclassed by src/db/prepared-statements.ts.
declare module 'knex/lib/dialects/postgres/index.js' {
  const PgClient: unknown;
  export default PgClient;
}
