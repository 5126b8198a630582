import type { Knex } from 'knex';

/**
 * Refresh token rotation that survives failures (src/oidc/refresh-rotation.ts): each instance's
 * reuse grace, and on a consumed refresh token the id of the successor it was rotated to (the
 * grace applies only while that successor is unused).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('instances', (t) => {
    t.integer('refresh_token_reuse_grace_s').notNullable().defaultTo(5);
  });
  await knex.raw('ALTER TABLE instances ADD CONSTRAINT instances_refresh_reuse_grace CHECK (refresh_token_reuse_grace_s BETWEEN 0 AND 300)');
  await knex.schema.alterTable('oidc_payloads', (t) => {
    t.text('successor_id');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('oidc_payloads', (t) => {
    t.dropColumn('successor_id');
  });
  await knex.raw('ALTER TABLE instances DROP CONSTRAINT IF EXISTS instances_refresh_reuse_grace');
  await knex.schema.alterTable('instances', (t) => {
    t.dropColumn('refresh_token_reuse_grace_s');
  });
}
