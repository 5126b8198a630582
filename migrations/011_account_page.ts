import type { Knex } from 'knex';

/**
 * The account page (src/account): the device (user agent) each sign-in session was last used
 * from, keyed by the session's uid, which stays put while its id rotates at every login; and a
 * kind of mailed code for a new email address that is not the user's until the code comes back.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('sign_in_devices', (t) => {
    t.text('instance_id').notNullable();
    t.text('session_uid').notNullable();
    t.text('user_id').notNullable();
    t.text('user_agent');
    t.timestamp('first_seen_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('last_seen_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.primary(['instance_id', 'session_uid']);
    t.foreign(['instance_id', 'user_id']).references(['instance_id', 'id']).inTable('users').onDelete('CASCADE');
  });
  await knex.raw('ALTER TABLE user_codes DROP CONSTRAINT user_codes_kind');
  await knex.raw(
    `ALTER TABLE user_codes ADD CONSTRAINT user_codes_kind CHECK (kind IN ('email_verification','password_reset','initial_password','email_change'))`,
  );
}

export async function down(knex: Knex): Promise<void> {
  await knex('user_codes').where({ kind: 'email_change' }).delete();
  await knex.raw('ALTER TABLE user_codes DROP CONSTRAINT user_codes_kind');
  await knex.raw(`ALTER TABLE user_codes ADD CONSTRAINT user_codes_kind CHECK (kind IN ('email_verification','password_reset','initial_password'))`);
  await knex.schema.dropTableIfExists('sign_in_devices');
}
