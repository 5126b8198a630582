import type { Knex } from 'knex';

/**
 * Login: second-factor attempt limits, and the one-time codes of account journeys
 * (email verification, password reset, initial password).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('user_totp', (t) => {
    // Wrong codes in a row; reaching the limit blocks second-factor checks until blocked_until.
    t.integer('failed_attempts').notNullable().defaultTo(0);
    t.timestamp('blocked_until', { useTz: true });
  });

  await knex.schema.createTable('user_codes', (t) => {
    t.text('instance_id').notNullable();
    t.text('user_id').notNullable();
    t.text('kind').notNullable(); // email_verification | password_reset | initial_password
    t.text('code_hash').notNullable();
    t.text('email'); // the address an email_verification code was sent to
    t.integer('attempts').notNullable().defaultTo(0);
    t.timestamp('expires_at', { useTz: true }).notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.primary(['instance_id', 'user_id', 'kind']);
    t.foreign(['instance_id', 'user_id']).references(['instance_id', 'id']).inTable('users').onDelete('CASCADE');
  });
  await knex.raw(`ALTER TABLE user_codes ADD CONSTRAINT user_codes_kind CHECK (kind IN ('email_verification','password_reset','initial_password'))`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('user_codes');
  await knex.schema.alterTable('user_totp', (t) => {
    t.dropColumn('failed_attempts');
    t.dropColumn('blocked_until');
  });
}
