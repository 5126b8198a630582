import type { Knex } from 'knex';

/**
 * The whole multi-tenant model. Every table carries instance_id and every foreign key
 * includes it, so the database itself refuses a reference that crosses instances.
 */
export async function up(knex: Knex): Promise<void> {
  const ts = (t: Knex.CreateTableBuilder) => {
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.integer('version').notNullable().defaultTo(1);
  };

  await knex.schema.createTable('instances', (t) => {
    t.text('id').primary();
    t.text('instance_id').notNullable(); // = id, so the scoping helper treats instances like every other table
    t.text('name').notNullable();
    t.text('state').notNullable().defaultTo('active');
    t.text('default_org_id');
    t.integer('access_token_lifetime_s')
      .notNullable()
      .defaultTo(12 * 3600);
    t.integer('id_token_lifetime_s')
      .notNullable()
      .defaultTo(12 * 3600);
    t.integer('refresh_token_idle_s')
      .notNullable()
      .defaultTo(30 * 86400);
    t.integer('refresh_token_absolute_s')
      .notNullable()
      .defaultTo(90 * 86400);
    t.text('smtp_host');
    t.integer('smtp_port');
    t.boolean('smtp_tls').notNullable().defaultTo(false);
    t.text('smtp_user');
    t.text('smtp_password_enc');
    t.text('smtp_from_address');
    t.text('smtp_from_name');
    ts(t);
    t.unique(['instance_id', 'id']);
  });
  await knex.raw('ALTER TABLE instances ADD CONSTRAINT instances_self CHECK (instance_id = id)');

  await knex.schema.createTable('instance_domains', (t) => {
    t.text('domain').primary(); // unique across the installation
    t.text('instance_id').notNullable().references('id').inTable('instances').onDelete('CASCADE');
    t.boolean('is_primary').notNullable().defaultTo(false);
    t.boolean('is_generated').notNullable().defaultTo(false);
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
  await knex.raw('CREATE UNIQUE INDEX instance_domains_one_primary ON instance_domains (instance_id) WHERE is_primary');

  await knex.schema.createTable('orgs', (t) => {
    t.text('instance_id').notNullable().references('id').inTable('instances').onDelete('CASCADE');
    t.text('id').notNullable();
    t.text('name').notNullable();
    t.text('state').notNullable().defaultTo('active');
    ts(t);
    t.primary(['instance_id', 'id']);
    t.unique(['instance_id', 'name']);
  });
  await knex.raw(`ALTER TABLE orgs ADD CONSTRAINT orgs_state CHECK (state IN ('active','inactive'))`);
  await knex.raw(`ALTER TABLE instances ADD CONSTRAINT instances_default_org
    FOREIGN KEY (instance_id, default_org_id) REFERENCES orgs (instance_id, id) DEFERRABLE INITIALLY DEFERRED`);

  await knex.schema.createTable('org_domains', (t) => {
    t.text('instance_id').notNullable();
    t.text('org_id').notNullable();
    t.text('domain').notNullable();
    t.boolean('is_verified').notNullable().defaultTo(false);
    t.boolean('is_primary').notNullable().defaultTo(false);
    t.boolean('is_generated').notNullable().defaultTo(false);
    t.text('validation_code');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.primary(['instance_id', 'org_id', 'domain']);
    t.foreign(['instance_id', 'org_id']).references(['instance_id', 'id']).inTable('orgs').onDelete('CASCADE');
  });
  await knex.raw('CREATE UNIQUE INDEX org_domains_verified_once ON org_domains (instance_id, domain) WHERE is_verified');
  await knex.raw('CREATE UNIQUE INDEX org_domains_one_primary ON org_domains (instance_id, org_id) WHERE is_primary');

  await knex.schema.createTable('users', (t) => {
    t.text('instance_id').notNullable();
    t.text('id').notNullable();
    t.text('org_id').notNullable();
    t.text('type').notNullable(); // human | machine
    t.text('username').notNullable();
    t.text('state').notNullable().defaultTo('active');
    // human
    t.text('email');
    t.boolean('email_verified').notNullable().defaultTo(false);
    t.text('phone');
    t.boolean('phone_verified').notNullable().defaultTo(false);
    t.text('given_name');
    t.text('family_name');
    t.text('display_name');
    t.text('nick_name');
    t.text('preferred_language');
    t.text('password_hash');
    t.timestamp('password_changed_at', { useTz: true });
    t.boolean('password_change_required').notNullable().defaultTo(false);
    t.integer('failed_password_attempts').notNullable().defaultTo(0);
    // machine
    t.text('name');
    t.text('description');
    t.text('access_token_type').notNullable().defaultTo('jwt');
    t.text('client_secret_hash');
    ts(t);
    t.primary(['instance_id', 'id']);
    t.foreign(['instance_id', 'org_id']).references(['instance_id', 'id']).inTable('orgs').onDelete('CASCADE');
  });
  await knex.raw(`ALTER TABLE users ADD CONSTRAINT users_type CHECK (type IN ('human','machine'))`);
  await knex.raw(`ALTER TABLE users ADD CONSTRAINT users_state CHECK (state IN ('initial','active','inactive','locked'))`);
  await knex.raw(`ALTER TABLE users ADD CONSTRAINT users_token_type CHECK (access_token_type IN ('jwt','opaque'))`);
  await knex.raw('CREATE UNIQUE INDEX users_username_in_org ON users (instance_id, org_id, lower(username))');
  await knex.raw('CREATE INDEX users_username ON users (instance_id, lower(username))');
  await knex.raw('CREATE INDEX users_email ON users (instance_id, lower(email))');

  await knex.schema.createTable('user_metadata', (t) => {
    t.text('instance_id').notNullable();
    t.text('user_id').notNullable();
    t.text('key').notNullable();
    t.text('value').notNullable();
    t.primary(['instance_id', 'user_id', 'key']);
    t.foreign(['instance_id', 'user_id']).references(['instance_id', 'id']).inTable('users').onDelete('CASCADE');
  });

  await knex.schema.createTable('machine_keys', (t) => {
    t.text('instance_id').notNullable();
    t.text('id').notNullable();
    t.text('user_id').notNullable();
    t.jsonb('public_jwk').notNullable();
    t.timestamp('expires_at', { useTz: true });
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.primary(['instance_id', 'id']);
    t.foreign(['instance_id', 'user_id']).references(['instance_id', 'id']).inTable('users').onDelete('CASCADE');
  });

  await knex.schema.createTable('personal_access_tokens', (t) => {
    t.text('instance_id').notNullable();
    t.text('id').notNullable();
    t.text('user_id').notNullable();
    t.text('token_hash').notNullable(); // sha-256 of a high-entropy token: fast lookup, nothing to brute-force
    t.specificType('scopes', 'text[]').notNullable().defaultTo('{}');
    t.timestamp('expires_at', { useTz: true });
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.primary(['instance_id', 'id']);
    t.unique(['instance_id', 'token_hash']);
    t.foreign(['instance_id', 'user_id']).references(['instance_id', 'id']).inTable('users').onDelete('CASCADE');
  });

  await knex.schema.createTable('user_totp', (t) => {
    t.text('instance_id').notNullable();
    t.text('user_id').notNullable();
    t.text('secret_enc').notNullable();
    t.boolean('verified').notNullable().defaultTo(false);
    t.bigInteger('last_used_step');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.primary(['instance_id', 'user_id']);
    t.foreign(['instance_id', 'user_id']).references(['instance_id', 'id']).inTable('users').onDelete('CASCADE');
  });

  await knex.schema.createTable('user_recovery_codes', (t) => {
    t.text('instance_id').notNullable();
    t.text('user_id').notNullable();
    t.text('code_hash').notNullable();
    t.timestamp('used_at', { useTz: true });
    t.primary(['instance_id', 'user_id', 'code_hash']);
    t.foreign(['instance_id', 'user_id']).references(['instance_id', 'id']).inTable('users').onDelete('CASCADE');
  });

  await knex.schema.createTable('projects', (t) => {
    t.text('instance_id').notNullable();
    t.text('id').notNullable();
    t.text('org_id').notNullable();
    t.text('name').notNullable();
    t.text('state').notNullable().defaultTo('active');
    t.boolean('project_role_assertion').notNullable().defaultTo(false);
    t.boolean('project_role_check').notNullable().defaultTo(false);
    t.boolean('has_project_check').notNullable().defaultTo(false);
    t.text('private_labeling_setting').notNullable().defaultTo('unspecified');
    ts(t);
    t.primary(['instance_id', 'id']);
    t.unique(['instance_id', 'org_id', 'name']);
    t.foreign(['instance_id', 'org_id']).references(['instance_id', 'id']).inTable('orgs').onDelete('CASCADE');
  });
  await knex.raw(`ALTER TABLE projects ADD CONSTRAINT projects_state CHECK (state IN ('active','inactive'))`);
  await knex.raw(`ALTER TABLE projects ADD CONSTRAINT projects_labeling CHECK (private_labeling_setting IN
    ('unspecified','enforce_project_resource_owner_policy','allow_login_user_resource_owner_policy'))`);

  await knex.schema.createTable('project_roles', (t) => {
    t.text('instance_id').notNullable();
    t.text('project_id').notNullable();
    t.text('key').notNullable();
    t.text('display_name').notNullable();
    t.text('group');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.primary(['instance_id', 'project_id', 'key']);
    t.foreign(['instance_id', 'project_id']).references(['instance_id', 'id']).inTable('projects').onDelete('CASCADE');
  });

  await knex.schema.createTable('applications', (t) => {
    t.text('instance_id').notNullable();
    t.text('id').notNullable();
    t.text('project_id').notNullable();
    t.text('name').notNullable();
    t.text('state').notNullable().defaultTo('active');
    t.text('client_id').notNullable();
    t.text('client_secret_hash');
    t.text('app_type').notNullable(); // web | user_agent | native | api
    t.text('auth_method').notNullable(); // client_secret_basic | client_secret_post | none | private_key_jwt
    t.jsonb('redirect_uris').notNullable().defaultTo('[]');
    t.jsonb('post_logout_redirect_uris').notNullable().defaultTo('[]');
    t.jsonb('grant_types').notNullable().defaultTo('["authorization_code"]');
    t.jsonb('response_types').notNullable().defaultTo('["code"]');
    t.text('access_token_type').notNullable().defaultTo('jwt');
    t.boolean('id_token_role_assertion').notNullable().defaultTo(false);
    t.boolean('access_token_role_assertion').notNullable().defaultTo(false);
    t.boolean('id_token_userinfo_assertion').notNullable().defaultTo(false);
    t.integer('clock_skew_s').notNullable().defaultTo(0);
    t.boolean('dev_mode').notNullable().defaultTo(false);
    t.boolean('skip_consent').notNullable().defaultTo(true);
    t.jsonb('jwks'); // public keys for private_key_jwt
    ts(t);
    t.primary(['instance_id', 'id']);
    t.unique(['instance_id', 'client_id']);
    t.foreign(['instance_id', 'project_id']).references(['instance_id', 'id']).inTable('projects').onDelete('CASCADE');
  });
  await knex.raw(`ALTER TABLE applications ADD CONSTRAINT applications_type CHECK (app_type IN ('web','user_agent','native','api'))`);
  await knex.raw(`ALTER TABLE applications ADD CONSTRAINT applications_auth CHECK (auth_method IN
    ('client_secret_basic','client_secret_post','none','private_key_jwt'))`);
  await knex.raw(`ALTER TABLE applications ADD CONSTRAINT applications_token_type CHECK (access_token_type IN ('jwt','opaque'))`);

  await knex.schema.createTable('project_grants', (t) => {
    t.text('instance_id').notNullable();
    t.text('id').notNullable();
    t.text('project_id').notNullable();
    t.text('granted_org_id').notNullable();
    t.specificType('role_keys', 'text[]').notNullable().defaultTo('{}');
    t.text('state').notNullable().defaultTo('active');
    ts(t);
    t.primary(['instance_id', 'id']);
    t.unique(['instance_id', 'project_id', 'granted_org_id']);
    t.foreign(['instance_id', 'project_id']).references(['instance_id', 'id']).inTable('projects').onDelete('CASCADE');
    t.foreign(['instance_id', 'granted_org_id']).references(['instance_id', 'id']).inTable('orgs').onDelete('CASCADE');
  });
  await knex.raw(`ALTER TABLE project_grants ADD CONSTRAINT project_grants_state CHECK (state IN ('active','inactive'))`);
  await knex.raw('CREATE INDEX project_grants_granted_org ON project_grants (instance_id, granted_org_id)');

  await knex.schema.createTable('user_grants', (t) => {
    t.text('instance_id').notNullable();
    t.text('id').notNullable();
    t.text('user_id').notNullable();
    t.text('project_id').notNullable();
    t.text('org_id').notNullable(); // the giving org: project owner, or holder of project_grant_id
    t.text('project_grant_id');
    t.specificType('role_keys', 'text[]').notNullable().defaultTo('{}');
    t.text('state').notNullable().defaultTo('active');
    t.timestamp('expires_at', { useTz: true });
    ts(t);
    t.primary(['instance_id', 'id']);
    t.unique(['instance_id', 'user_id', 'project_id', 'org_id']);
    t.foreign(['instance_id', 'user_id']).references(['instance_id', 'id']).inTable('users').onDelete('CASCADE');
    t.foreign(['instance_id', 'project_id']).references(['instance_id', 'id']).inTable('projects').onDelete('CASCADE');
    t.foreign(['instance_id', 'org_id']).references(['instance_id', 'id']).inTable('orgs').onDelete('CASCADE');
    t.foreign(['instance_id', 'project_grant_id']).references(['instance_id', 'id']).inTable('project_grants').onDelete('CASCADE');
  });
  await knex.raw(`ALTER TABLE user_grants ADD CONSTRAINT user_grants_state CHECK (state IN ('active','inactive'))`);
  // The roles claim reads a user's grants on one project: cost follows the user's own grants.
  await knex.raw('CREATE INDEX user_grants_by_user_project ON user_grants (instance_id, user_id, project_id)');
  await knex.raw('CREATE INDEX user_grants_by_project_grant ON user_grants (instance_id, project_grant_id)');
  await knex.raw('CREATE INDEX user_grants_by_org ON user_grants (instance_id, org_id)');

  await knex.schema.createTable('memberships', (t) => {
    t.text('instance_id').notNullable().references('id').inTable('instances').onDelete('CASCADE');
    t.text('id').notNullable();
    t.text('user_id').notNullable();
    t.text('level').notNullable(); // instance | org | project | project_grant
    t.text('org_id');
    t.text('project_id');
    t.text('project_grant_id');
    t.specificType('roles', 'text[]').notNullable();
    ts(t);
    t.primary(['instance_id', 'id']);
    t.foreign(['instance_id', 'user_id']).references(['instance_id', 'id']).inTable('users').onDelete('CASCADE');
    t.foreign(['instance_id', 'org_id']).references(['instance_id', 'id']).inTable('orgs').onDelete('CASCADE');
    t.foreign(['instance_id', 'project_id']).references(['instance_id', 'id']).inTable('projects').onDelete('CASCADE');
    t.foreign(['instance_id', 'project_grant_id']).references(['instance_id', 'id']).inTable('project_grants').onDelete('CASCADE');
  });
  await knex.raw(`ALTER TABLE memberships ADD CONSTRAINT memberships_level CHECK (
    (level = 'instance' AND org_id IS NULL AND project_id IS NULL AND project_grant_id IS NULL) OR
    (level = 'org' AND org_id IS NOT NULL AND project_id IS NULL AND project_grant_id IS NULL) OR
    (level = 'project' AND project_id IS NOT NULL AND project_grant_id IS NULL) OR
    (level = 'project_grant' AND project_id IS NOT NULL AND project_grant_id IS NOT NULL))`);
  await knex.raw(`CREATE UNIQUE INDEX memberships_once ON memberships
    (instance_id, user_id, level, coalesce(org_id, ''), coalesce(project_id, ''), coalesce(project_grant_id, ''))`);

  await knex.schema.createTable('policies', (t) => {
    t.text('instance_id').notNullable().references('id').inTable('instances').onDelete('CASCADE');
    t.text('kind').notNullable();
    t.text('org_id'); // null: the instance default
    t.jsonb('settings').notNullable();
    ts(t);
    t.foreign(['instance_id', 'org_id']).references(['instance_id', 'id']).inTable('orgs').onDelete('CASCADE');
  });
  await knex.raw(`ALTER TABLE policies ADD CONSTRAINT policies_kind CHECK (kind IN
    ('login','password_complexity','lockout','domain','label','privacy','notification'))`);
  await knex.raw('CREATE UNIQUE INDEX policies_instance_default ON policies (instance_id, kind) WHERE org_id IS NULL');
  await knex.raw('CREATE UNIQUE INDEX policies_org_override ON policies (instance_id, kind, org_id) WHERE org_id IS NOT NULL');

  await knex.schema.createTable('label_assets', (t) => {
    t.text('instance_id').notNullable().references('id').inTable('instances').onDelete('CASCADE');
    t.text('org_id');
    t.text('kind').notNullable(); // logo_light | logo_dark | icon_light | icon_dark | font
    t.text('content_type').notNullable();
    t.binary('data').notNullable();
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.foreign(['instance_id', 'org_id']).references(['instance_id', 'id']).inTable('orgs').onDelete('CASCADE');
  });
  await knex.raw(`CREATE UNIQUE INDEX label_assets_once ON label_assets (instance_id, coalesce(org_id, ''), kind)`);

  await knex.schema.createTable('idps', (t) => {
    t.text('instance_id').notNullable().references('id').inTable('instances').onDelete('CASCADE');
    t.text('id').notNullable();
    t.text('org_id'); // null: an instance IdP
    t.text('name').notNullable();
    t.text('type').notNullable().defaultTo('oidc');
    t.text('state').notNullable().defaultTo('active');
    t.text('issuer').notNullable();
    t.text('client_id').notNullable();
    t.text('client_secret_enc');
    t.specificType('scopes', 'text[]').notNullable().defaultTo('{openid,profile,email}');
    t.boolean('is_linking_allowed').notNullable().defaultTo(true);
    t.boolean('is_creation_allowed').notNullable().defaultTo(true);
    t.boolean('is_auto_creation').notNullable().defaultTo(false);
    t.boolean('is_auto_update').notNullable().defaultTo(false);
    t.text('auto_linking').notNullable().defaultTo('none'); // none | email | username
    ts(t);
    t.primary(['instance_id', 'id']);
    t.foreign(['instance_id', 'org_id']).references(['instance_id', 'id']).inTable('orgs').onDelete('CASCADE');
  });
  await knex.raw(`ALTER TABLE idps ADD CONSTRAINT idps_auto_linking CHECK (auto_linking IN ('none','email','username'))`);

  await knex.schema.createTable('user_idp_links', (t) => {
    t.text('instance_id').notNullable();
    t.text('idp_id').notNullable();
    t.text('external_user_id').notNullable();
    t.text('user_id').notNullable();
    t.text('external_username');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.primary(['instance_id', 'idp_id', 'external_user_id']);
    t.foreign(['instance_id', 'idp_id']).references(['instance_id', 'id']).inTable('idps').onDelete('CASCADE');
    t.foreign(['instance_id', 'user_id']).references(['instance_id', 'id']).inTable('users').onDelete('CASCADE');
  });

  await knex.schema.createTable('signing_keys', (t) => {
    t.text('instance_id').notNullable().references('id').inTable('instances').onDelete('CASCADE');
    t.text('kid').notNullable();
    t.text('alg').notNullable();
    t.jsonb('public_jwk').notNullable();
    t.text('private_jwk_enc').notNullable();
    t.text('state').notNullable(); // next | active | retired
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('retired_at', { useTz: true });
    t.timestamp('remove_after', { useTz: true }); // stays in JWKS until the tokens it signed have expired
    t.primary(['instance_id', 'kid']);
  });
  await knex.raw(`CREATE UNIQUE INDEX signing_keys_one_active ON signing_keys (instance_id) WHERE state = 'active'`);

  await knex.schema.createTable('audit_events', (t) => {
    t.bigIncrements('seq').primary();
    t.text('instance_id').notNullable().references('id').inTable('instances').onDelete('CASCADE');
    t.text('id').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.text('actor_id');
    t.text('actor_type').notNullable(); // user | machine | system | cli
    t.text('org_id');
    t.text('resource_type').notNullable();
    t.text('resource_id').notNullable();
    t.text('type').notNullable();
    t.jsonb('payload').notNullable().defaultTo('{}');
    t.unique(['instance_id', 'id']);
  });
  await knex.raw('CREATE INDEX audit_events_time ON audit_events (instance_id, created_at)');
  await knex.raw('CREATE INDEX audit_events_resource ON audit_events (instance_id, resource_type, resource_id)');
  // Append-only: the trail cannot be edited, only removed along with its instance.
  await knex.raw(`CREATE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN RAISE EXCEPTION 'audit_events is append-only'; END $$`);
  await knex.raw(`CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_append_only()`);

  await knex.schema.createTable('oidc_payloads', (t) => {
    t.text('instance_id').notNullable().references('id').inTable('instances').onDelete('CASCADE');
    t.text('model').notNullable();
    t.text('id').notNullable();
    t.jsonb('payload').notNullable();
    t.text('grant_id');
    t.text('user_code');
    t.text('uid');
    t.timestamp('expires_at', { useTz: true });
    t.timestamp('consumed_at', { useTz: true });
    t.primary(['instance_id', 'model', 'id']);
  });
  await knex.raw('CREATE INDEX oidc_payloads_grant ON oidc_payloads (instance_id, grant_id) WHERE grant_id IS NOT NULL');
  await knex.raw('CREATE INDEX oidc_payloads_uid ON oidc_payloads (instance_id, uid) WHERE uid IS NOT NULL');
  await knex.raw('CREATE INDEX oidc_payloads_expiry ON oidc_payloads (expires_at)');
}

export async function down(knex: Knex): Promise<void> {
  for (const table of [
    'oidc_payloads',
    'audit_events',
    'signing_keys',
    'user_idp_links',
    'idps',
    'label_assets',
    'policies',
    'memberships',
    'user_grants',
    'project_grants',
    'applications',
    'project_roles',
    'projects',
    'user_recovery_codes',
    'user_totp',
    'personal_access_tokens',
    'machine_keys',
    'user_metadata',
    'users',
    'org_domains',
  ]) {
    await knex.schema.dropTableIfExists(table);
  }
  await knex.raw('ALTER TABLE instances DROP CONSTRAINT IF EXISTS instances_default_org');
  await knex.schema.dropTableIfExists('orgs');
  await knex.schema.dropTableIfExists('instance_domains');
  await knex.schema.dropTableIfExists('instances');
  await knex.raw('DROP FUNCTION IF EXISTS audit_events_append_only');
}
