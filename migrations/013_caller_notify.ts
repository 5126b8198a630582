import type { Knex } from 'knex';

/**
 * The API's caller cache (src/oidc/claims-cache.ts, `caller` slots) keeps a personal access
 * token's user and a user's memberships per process; these triggers send the same notices as
 * 006_claims_notify for the two tables it reads beyond users and orgs, so a revoked token or a
 * removed membership is dropped in every process on commit, whichever code path wrote.
 * A token's notice names its hash (the cache keys a token by it); a membership's its user.
 */
const TABLES: Record<string, string> = { personal_access_tokens: 'token_hash', memberships: 'user_id' };

export async function up(knex: Knex): Promise<void> {
  for (const [table, column] of Object.entries(TABLES)) {
    await knex.raw(`CREATE TRIGGER ${table}_claims_changed AFTER INSERT OR UPDATE OR DELETE ON ${table}
      FOR EACH ROW EXECUTE FUNCTION tessera_claims_changed('${column}')`);
  }
}

export async function down(knex: Knex): Promise<void> {
  for (const table of Object.keys(TABLES)) await knex.raw(`DROP TRIGGER IF EXISTS ${table}_claims_changed ON ${table}`);
}
