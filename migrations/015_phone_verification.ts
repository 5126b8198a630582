import type { Knex } from 'knex';

/**
 * Phone verification, as ZITADEL does it: a changed phone is unverified until the code sent to it
 * by SMS comes back (user_codes kind phone_verification), and the instance's SMS provider, of type
 * "HTTP webhook": Tessera POSTs {recipient, text} to `endpoint`, signed with `signing_key_enc`
 * (sealed under the master key). One provider per instance.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw('ALTER TABLE user_codes DROP CONSTRAINT user_codes_kind');
  await knex.raw(
    `ALTER TABLE user_codes ADD CONSTRAINT user_codes_kind CHECK (kind IN ('email_verification','password_reset','initial_password','email_change','phone_verification'))`,
  );
  await knex.schema.createTable('instance_sms_providers', (t) => {
    t.text('instance_id').notNullable().primary().references('id').inTable('instances').onDelete('CASCADE');
    t.text('type').notNullable().checkIn(['http']);
    t.text('endpoint').notNullable();
    t.text('description');
    t.text('signing_key_enc').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('instance_sms_providers');
  await knex('user_codes').where({ kind: 'phone_verification' }).delete();
  await knex.raw('ALTER TABLE user_codes DROP CONSTRAINT user_codes_kind');
  await knex.raw(
    `ALTER TABLE user_codes ADD CONSTRAINT user_codes_kind CHECK (kind IN ('email_verification','password_reset','initial_password','email_change'))`,
  );
}
