import type { Knex } from 'knex';

/**
 * Policy URLs became http(s) only (a javascript: defaultRedirectUri was accepted before). Stored
 * settings are re-parsed on every read, so a value the schema now refuses would break every
 * page of its org: such values are cleared instead, which the schema reads as "no link".
 */
const URL_FIELDS: Record<string, string[]> = { login: ['defaultRedirectUri'], privacy: ['tosLink', 'privacyLink', 'helpLink'] };

export async function up(knex: Knex): Promise<void> {
  for (const [kind, fields] of Object.entries(URL_FIELDS)) {
    for (const field of fields) {
      await knex.raw(
        `UPDATE policies SET settings = jsonb_set(settings, ARRAY[?], '""'::jsonb)
         WHERE kind = ? AND coalesce(settings->>?, '') <> '' AND settings->>? !~* '^(http|https)://[^[:space:]]+$'`,
        [field, kind, field, field],
      );
    }
  }
}

export async function down(): Promise<void> {
  // Nothing to restore: the cleared values were unsafe.
}
