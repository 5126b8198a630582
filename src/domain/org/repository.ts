import type { Scope } from '../../db/scope.js';

export interface OrgRow { id: string; name: string; state: 'active' | 'inactive'; version: number; created_at: Date; updated_at: Date }
export interface OrgDomainRow { org_id: string; domain: string; is_verified: boolean; is_primary: boolean; is_generated: boolean; validation_code: string | null }

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
  return scope.table('org_domains').where({ org_id: orgId }).orderBy([{ column: 'is_primary', order: 'desc' }, 'domain']);
}

export async function findOrgByVerifiedDomain(scope: Scope, domain: string): Promise<OrgRow | undefined> {
  return scope.table('orgs')
    .join('org_domains', function joinDomains() {
      this.on('org_domains.instance_id', 'orgs.instance_id').andOn('org_domains.org_id', 'orgs.id');
    })
    .where('org_domains.domain', domain.toLowerCase()).andWhere('org_domains.is_verified', true)
    .first('orgs.*');
}

export async function primaryOrgDomain(scope: Scope, orgId: string): Promise<string | undefined> {
  const row = await scope.table('org_domains').where({ org_id: orgId, is_primary: true }).first('domain');
  return row?.domain;
}

/** `{org-slug}`: lower-case, ASCII letters, digits and dashes. */
export function orgSlug(name: string): string {
  return name.normalize('NFKD').replace(/[\u0300-\u036f]/g, '').toLowerCase()
    .replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '') || 'org';
}
