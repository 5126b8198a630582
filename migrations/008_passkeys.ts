import type { Knex } from 'knex';

/**
 * Passkeys (WebAuthn credentials) and the challenges of their ceremonies.
 *
 * A credential is found by (instance, credential id): the same authenticator registered at two
 * instances is two unrelated rows, and a lookup can never reach another instance's row. The RP ID
 * it was registered for is kept because an instance has several domains and the browser only
 * offers a credential on the domain it was made for.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('user_passkeys', (t) => {
    t.text('instance_id').notNullable();
    t.text('id').notNullable();
    t.text('user_id').notNullable();
    t.text('credential_id').notNullable(); // base64url, as the browser reports it
    t.binary('public_key').notNullable(); // COSE
    t.bigInteger('sign_count').notNullable().defaultTo(0);
    t.boolean('backup_eligible').notNullable().defaultTo(false); // multi-device credential
    t.boolean('backed_up').notNullable().defaultTo(false);
    t.specificType('transports', 'text[]').notNullable().defaultTo('{}');
    t.text('aaguid');
    t.text('rp_id').notNullable();
    t.text('name').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('last_used_at', { useTz: true });
    t.primary(['instance_id', 'id']);
    t.unique(['instance_id', 'credential_id']);
    t.foreign(['instance_id', 'user_id']).references(['instance_id', 'id']).inTable('users').onDelete('CASCADE');
  });
  await knex.raw('CREATE INDEX user_passkeys_user ON user_passkeys (instance_id, user_id)');

  await knex.schema.createTable('webauthn_challenges', (t) => {
    t.text('instance_id').notNullable().references('id').inTable('instances').onDelete('CASCADE');
    t.text('id').notNullable();
    t.text('purpose').notNullable(); // registration | authentication
    t.text('user_id'); // registration, and authentication as a second factor: whose credential
    t.text('binding').notNullable(); // the login interaction or account session that asked for it
    t.text('challenge').notNullable();
    t.text('rp_id').notNullable();
    t.text('origin').notNullable();
    t.boolean('user_verification').notNullable(); // whether the ceremony requires it
    t.timestamp('expires_at', { useTz: true }).notNullable();
    t.primary(['instance_id', 'id']);
  });
  await knex.raw(`ALTER TABLE webauthn_challenges ADD CONSTRAINT webauthn_challenges_purpose CHECK (purpose IN ('registration','authentication'))`);
  await knex.raw('CREATE INDEX webauthn_challenges_expiry ON webauthn_challenges (expires_at)');
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('webauthn_challenges');
  await knex.schema.dropTableIfExists('user_passkeys');
}
