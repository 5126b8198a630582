import type { Knex } from 'knex';
import type { Scope } from '../../db/scope.js';

export interface InstanceRow {
  id: string;
  name: string;
  state: string;
  default_org_id: string | null;
  access_token_lifetime_s: number;
  id_token_lifetime_s: number;
  refresh_token_idle_s: number;
  refresh_token_absolute_s: number;
  /** a just-rotated refresh token presented again within this many seconds gets a fresh answer (src/oidc/refresh-rotation.ts) */
  refresh_token_reuse_grace_s: number;
  smtp_host: string | null;
  smtp_port: number | null;
  smtp_tls: boolean;
  smtp_user: string | null;
  smtp_password_enc: string | null;
  smtp_from_address: string | null;
  smtp_from_name: string | null;
  version: number;
  created_at: Date;
  updated_at: Date;
}

export interface InstanceDomainRow {
  domain: string;
  instance_id: string;
  is_primary: boolean;
  is_generated: boolean;
}

/**
 * Host → instance is the one lookup that cannot be scoped by instance: it is how a request
 * finds its instance in the first place.
 */
export async function findInstanceIdByDomain(knex: Knex, domain: string): Promise<string | undefined> {
  const row = await knex('instance_domains').where({ domain: domain.toLowerCase() }).first('instance_id');
  return row?.instance_id;
}

export async function listInstanceIds(knex: Knex): Promise<string[]> {
  return (await knex('instances').orderBy('created_at').select('id')).map((r: { id: string }) => r.id);
}

/** The instances a set of domains points at (config as code: more than one is a mistake in the file). */
export async function findInstanceIdsByDomains(knex: Knex, domains: string[]): Promise<string[]> {
  const rows = await knex('instance_domains')
    .whereIn(
      'domain',
      domains.map((d) => d.toLowerCase()),
    )
    .distinct('instance_id');
  return rows.map((r: { instance_id: string }) => r.instance_id);
}

export async function instanceExists(knex: Knex, id: string): Promise<boolean> {
  return !!(await knex('instances').where({ id }).first('id'));
}

export async function insertInstance(knex: Knex | Knex.Transaction, row: { id: string; name: string }): Promise<void> {
  await knex('instances').insert({ ...row, instance_id: row.id });
}

export async function getInstance(scope: Scope): Promise<InstanceRow | undefined> {
  return scope.table('instances').first();
}

export async function updateInstance(scope: Scope, patch: Partial<Omit<InstanceRow, 'id' | 'version'>>): Promise<void> {
  await scope.table('instances').update({ ...patch, ...scope.bump() });
}

export async function listInstanceDomains(scope: Scope): Promise<InstanceDomainRow[]> {
  return scope.table('instance_domains').orderBy([{ column: 'is_primary', order: 'desc' }, 'domain']);
}

export async function insertInstanceDomain(scope: Scope, row: { domain: string; is_primary?: boolean; is_generated?: boolean }): Promise<void> {
  await scope.insert('instance_domains', { ...row, domain: row.domain.toLowerCase() });
}

/**
 * The instance serving `domain`, looked up past this instance on purpose: an instance domain is
 * unique in the whole installation.
 */
export async function instanceServingDomain(scope: Scope, domain: string): Promise<string | undefined> {
  return (await scope.installationTable('instance_domains').where({ domain: domain.toLowerCase() }).first('instance_id'))?.instance_id;
}

/** Makes `domain` the instance's primary domain (the issuer of new sessions), and no other. */
export async function makePrimaryInstanceDomain(scope: Scope, domain: string): Promise<void> {
  await scope.table('instance_domains').whereNot({ domain: domain.toLowerCase() }).update({ is_primary: false });
  await scope.table('instance_domains').where({ domain: domain.toLowerCase() }).update({ is_primary: true });
}

export async function clearPrimaryInstanceDomain(scope: Scope): Promise<void> {
  await scope.table('instance_domains').update({ is_primary: false });
}

/** The first org of a new instance, where users without an org context land. Not a versioned change. */
export async function setDefaultOrg(scope: Scope, orgId: string): Promise<void> {
  await scope.table('instances').update({ default_org_id: orgId });
}

/** Deletes the instance row; everything in the instance goes by cascade. */
export async function deleteInstanceRow(scope: Scope): Promise<number> {
  return scope.table('instances').where({ id: scope.instanceId }).delete();
}

export async function deleteInstanceDomain(scope: Scope, domain: string): Promise<number> {
  return scope.table('instance_domains').where({ domain: domain.toLowerCase() }).delete();
}

export async function primaryInstanceDomain(scope: Scope): Promise<string> {
  const row = await scope.table('instance_domains').where({ is_primary: true }).first('domain');
  return row?.domain ?? '';
}
