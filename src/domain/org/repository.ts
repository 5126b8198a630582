import type { Scope } from '../../db/scope.js';
import { pageQuery, type Page, type PageParams } from '../../db/paging.js';

export interface OrgRow {
  id: string;
  name: string;
  state: 'active' | 'inactive';
  version: number;
  created_at: Date;
  updated_at: Date;
}
export interface OrgDomainRow {
  org_id: string;
  domain: string;
  is_verified: boolean;
  is_primary: boolean;
  is_generated: boolean;
  validation_code: string | null;
}

export async function insertOrg(scope: Scope, row: { id: string; name: string; state?: string }): Promise<void> {
  await scope.insert('orgs', row);
}

export async function getOrg(scope: Scope, id: string): Promise<OrgRow | undefined> {
  return scope.table('orgs').where({ id }).first();
}

export async function findOrgByName(scope: Scope, name: string): Promise<OrgRow | undefined> {
  return scope.table('orgs').where({ name }).first();
}

export async function insertOrgDomain(scope: Scope, row: Omit<OrgDomainRow, 'validation_code'> & { validation_code?: string | null }): Promise<void> {
  await scope.insert('org_domains', { ...row, domain: row.domain.toLowerCase() });
}

export async function listOrgDomains(scope: Scope, orgId: string): Promise<OrgDomainRow[]> {
  return scope
    .table('org_domains')
    .where({ org_id: orgId })
    .orderBy([{ column: 'is_primary', order: 'desc' }, 'domain']);
}

export async function findOrgByVerifiedDomain(scope: Scope, domain: string): Promise<OrgRow | undefined> {
  return scope
    .join(scope.table('orgs', 'o'), 'org_domains as d', (j) => j.on('d.org_id', 'o.id'))
    .where('d.domain', domain.toLowerCase())
    .andWhere('d.is_verified', true)
    .first('o.*');
}

export async function primaryOrgDomain(scope: Scope, orgId: string): Promise<string | undefined> {
  const row = await scope.table('org_domains').where({ org_id: orgId, is_primary: true }).first('domain');
  return row?.domain;
}

/** `{org-slug}`: lower-case, ASCII letters, digits and dashes. */
export function orgSlug(name: string): string {
  return (
    name
      .normalize('NFKD')
      .replace(/[\u0300-\u036f]/g, '')
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-+|-+$/g, '') || 'org'
  );
}

export async function listOrgs(scope: Scope, filter: { state?: string; nameContains?: string } = {}): Promise<OrgRow[]> {
  const q = scope.table('orgs').orderBy('name');
  if (filter.state) q.where({ state: filter.state });
  if (filter.nameContains) q.whereILike('name', `%${filter.nameContains.replace(/[%_\\]/g, '\\$&')}%`);
  return q;
}

export async function updateOrg(scope: Scope, id: string, patch: Partial<Pick<OrgRow, 'name' | 'state'>>): Promise<number> {
  return scope
    .table('orgs')
    .where({ id })
    .update({ ...patch, ...scope.bump() });
}

export async function deleteOrgRow(scope: Scope, id: string): Promise<number> {
  return scope.table('orgs').where({ id }).delete();
}

export async function getOrgDomain(scope: Scope, orgId: string, domain: string): Promise<OrgDomainRow | undefined> {
  return scope.table('org_domains').where({ org_id: orgId, domain: domain.toLowerCase() }).first();
}

/** The org (other than `exceptOrgId`) that holds `domain` verified, if any. */
export async function findVerifiedDomainHolder(scope: Scope, domain: string, exceptOrgId?: string): Promise<string | undefined> {
  const q = scope.table('org_domains').where({ domain: domain.toLowerCase(), is_verified: true });
  if (exceptOrgId) q.whereNot({ org_id: exceptOrgId });
  return (await q.first('org_id'))?.org_id;
}

export async function updateOrgDomain(
  scope: Scope,
  orgId: string,
  domain: string,
  patch: Partial<Pick<OrgDomainRow, 'is_verified' | 'is_primary' | 'is_generated' | 'validation_code' | 'domain'>>,
): Promise<number> {
  return scope.table('org_domains').where({ org_id: orgId, domain: domain.toLowerCase() }).update(patch);
}

export async function clearPrimaryOrgDomain(scope: Scope, orgId: string): Promise<void> {
  await scope.table('org_domains').where({ org_id: orgId, is_primary: true }).update({ is_primary: false });
}

export async function deleteOrgDomain(scope: Scope, orgId: string, domain: string): Promise<number> {
  return scope.table('org_domains').where({ org_id: orgId, domain: domain.toLowerCase() }).delete();
}

/** Sortable API fields of the org list and their columns (a whitelist). */
export const orgSortColumns = { name: 'name', createdAt: 'created_at', state: 'state' } as const;

/** One page of the instance's orgs with the total over the same filters, paged in the database. */
export async function pageOrgs(scope: Scope, f: { state?: string; nameContains?: string; ids?: string[] }, p: PageParams): Promise<Page<OrgRow>> {
  const q = scope.table('orgs');
  if (f.ids) q.whereIn('id', f.ids);
  if (f.state) q.where({ state: f.state });
  if (f.nameContains) q.whereILike('name', `%${f.nameContains.replace(/[%_\\]/g, '\\$&')}%`);
  return pageQuery<OrgRow>(q, p, orgSortColumns, 'name', 'id');
}

/** Names and primary domains of orgs by id, for lists that show whose a row is. */
export async function orgNamesByIds(scope: Scope, ids: string[]): Promise<Map<string, { name: string; primaryDomain: string | null }>> {
  if (!ids.length) return new Map();
  const rows: { id: string; name: string; domain: string | null }[] = await scope
    .leftJoin(scope.table('orgs', 'o'), 'org_domains as d', (j) => j.on('d.org_id', 'o.id').andOnVal('d.is_primary', '=', true))
    .whereIn('o.id', [...new Set(ids)])
    .select('o.id', 'o.name', 'd.domain');
  return new Map(rows.map((r) => [r.id, { name: r.name, primaryDomain: r.domain }]));
}

/** What goes with an org when it is deleted (the foreign keys cascade), counted. */
export async function countOrgContents(
  scope: Scope,
  orgId: string,
): Promise<{ users: number; projects: number; grantsReceived: number; userGrants: number; memberships: number; idps: number }> {
  const count = async (table: string, where: Record<string, string>) =>
    Number((await scope.table(table).where(where).count<{ n: string }[]>('* as n').first())?.n ?? 0);
  const [users, projects, grantsReceived, userGrants, memberships, idps] = await Promise.all([
    count('users', { org_id: orgId }),
    count('projects', { org_id: orgId }),
    count('project_grants', { granted_org_id: orgId }),
    count('user_grants', { org_id: orgId }),
    count('memberships', { org_id: orgId }),
    count('idps', { org_id: orgId }),
  ]);
  return { users, projects, grantsReceived, userGrants, memberships, idps };
}
