import type { Knex } from 'knex';

/**
 * Change notices for what userinfo's claims are built from, sent by PostgreSQL itself, so every
 * write reaches every process's claims cache (src/oidc/claims-cache.ts), whichever code path made
 * it: services, `tessera apply`, or SQL by hand. A notice is delivered on commit, never for a
 * rolled-back write. Payload: "<instance id>" (drop the whole instance) or
 * "<instance id> <user id>" (drop one user).
 */
const USER_TABLES: Record<string, string> = { users: 'id', user_grants: 'user_id' };
const INSTANCE_TABLES = ['orgs', 'org_domains', 'projects', 'project_roles', 'project_grants'];

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE FUNCTION tessera_claims_changed() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
      row_json jsonb := to_jsonb(CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END);
    BEGIN
      IF TG_NARGS > 0 THEN
        PERFORM pg_notify('tessera_claims', (row_json->>'instance_id') || ' ' || (row_json->>TG_ARGV[0]));
      ELSE
        PERFORM pg_notify('tessera_claims', row_json->>'instance_id');
      END IF;
      RETURN NULL;
    END $$`);
  for (const [table, userColumn] of Object.entries(USER_TABLES)) {
    await knex.raw(`CREATE TRIGGER ${table}_claims_changed AFTER INSERT OR UPDATE OR DELETE ON ${table}
      FOR EACH ROW EXECUTE FUNCTION tessera_claims_changed('${userColumn}')`);
  }
  for (const table of INSTANCE_TABLES) {
    await knex.raw(`CREATE TRIGGER ${table}_claims_changed AFTER INSERT OR UPDATE OR DELETE ON ${table}
      FOR EACH ROW EXECUTE FUNCTION tessera_claims_changed()`);
  }
}

export async function down(knex: Knex): Promise<void> {
  for (const table of [...Object.keys(USER_TABLES), ...INSTANCE_TABLES]) {
    await knex.raw(`DROP TRIGGER IF EXISTS ${table}_claims_changed ON ${table}`);
  }
  await knex.raw('DROP FUNCTION IF EXISTS tessera_claims_changed()');
}
