import type { Knex } from 'knex';

/**
 * The mail outbox (src/notify/outbox.ts): a notification is stored here and sent after the
 * request that caused it has answered, by a sender in every Tessera process (rows claimed with
 * FOR UPDATE SKIP LOCKED, so each goes out once), with retries. The payload holds one-time codes,
 * so it is sealed under the master key. A sent row is deleted; one that failed for good keeps
 * its last error.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('mail_outbox', (t) => {
    t.text('instance_id').notNullable();
    t.text('id').notNullable();
    t.text('user_id').notNullable();
    t.text('payload').notNullable(); // sealed JSON: { message, options }
    t.integer('attempts').notNullable().defaultTo(0);
    t.timestamp('next_attempt_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.text('last_error');
    t.timestamp('failed_at', { useTz: true });
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.primary(['instance_id', 'id']);
    t.foreign(['instance_id', 'user_id']).references(['instance_id', 'id']).inTable('users').onDelete('CASCADE');
  });
  await knex.raw('CREATE INDEX mail_outbox_due ON mail_outbox (next_attempt_at) WHERE failed_at IS NULL');
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('mail_outbox');
}
