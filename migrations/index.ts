import type { Knex } from 'knex';
import * as m001 from './001_initial.js';
import * as m005 from './005_login.js';
import * as m006 from './006_claims_notify.js';
import * as m007 from './007_policy_http_urls.js';
import * as m008 from './008_passkeys.js';
import * as m009 from './009_ui_sessions.js';
import * as m010 from './010_refresh_reuse_grace.js';
import * as m011 from './011_account_page.js';
import * as m012 from './012_mail_outbox.js';
import * as m013 from './013_caller_notify.js';
import * as m014 from './014_policy_notify.js';
import * as m015 from './015_phone_verification.js';

/** Migrations are listed here, in order, so they load the same way under tsx, jest and a build. */
const migrations: Record<string, Knex.Migration> = {
  '001_initial': m001,
  '005_login': m005,
  '006_claims_notify': m006,
  '007_policy_http_urls': m007,
  '008_passkeys': m008,
  '009_ui_sessions': m009,
  '010_refresh_reuse_grace': m010,
  '011_account_page': m011,
  '012_mail_outbox': m012,
  '013_caller_notify': m013,
  '014_policy_notify': m014,
  '015_phone_verification': m015,
};

export const migrationSource: Knex.MigrationSource<string> = {
  getMigrations: async () => Object.keys(migrations),
  getMigrationName: (name) => name,
  getMigration: async (name) => migrations[name],
};
