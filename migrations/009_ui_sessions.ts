import type { Knex } from 'knex';

/**
 * Sessions of Tessera's own web apps (the console, later the account page): server-side, the
 * browser holds only a random id, this table its SHA-256. A user's deletion removes them.
 * Also an index to list a user's sign-in sessions (oidc-provider's Session payloads).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('ui_sessions', (t) => {
    t.text('instance_id').notNullable();
    t.text('id_hash').notNullable();
    t.text('app').notNullable(); // console | account
    t.text('user_id').notNullable();
    t.text('csrf_secret').notNullable();
    t.text('provider_sid'); // the sign-in session (ID token `sid`) this session came from
    t.text('id_token_enc'); // for end_session's id_token_hint, sealed under the master key
    t.jsonb('data').notNullable().defaultTo('{}'); // small per-session choices, e.g. the org in context
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('last_seen_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('expires_at', { useTz: true }).notNullable(); // the absolute end
    t.primary(['instance_id', 'id_hash']);
    t.foreign(['instance_id', 'user_id']).references(['instance_id', 'id']).inTable('users').onDelete('CASCADE');
  });
  await knex.raw('CREATE INDEX ui_sessions_user ON ui_sessions (instance_id, user_id)');
  await knex.raw('CREATE INDEX ui_sessions_expiry ON ui_sessions (expires_at)');
  await knex.raw(`CREATE INDEX oidc_payloads_session_account ON oidc_payloads (instance_id, (payload->>'accountId')) WHERE model = 'Session'`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP INDEX IF EXISTS oidc_payloads_session_account');
  await knex.schema.dropTableIfExists('ui_sessions');
}
