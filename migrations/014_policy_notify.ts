import type { Knex } from 'knex';

/**
 * Login names rest on the domain policy as well as on orgs and org_domains (006_claims_notify):
 * the API keeps each org's login-name parts in the claims cache (src/domain/user/queries.ts), so a
 * write to policies drops the instance's kept reads in every process too, like the other
 * instance-wide tables. Policies change rarely; the notice names the instance.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`CREATE TRIGGER policies_claims_changed AFTER INSERT OR UPDATE OR DELETE ON policies
    FOR EACH ROW EXECUTE FUNCTION tessera_claims_changed()`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TRIGGER IF EXISTS policies_claims_changed ON policies');
}
