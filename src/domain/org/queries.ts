import type { Permission } from '../../authz/index.js';
import { authorize, isAllowed, permissionsOf } from '../authorization.js';
import type { PageParams, Page } from '../../db/paging.js';
import { notFound } from '../../shared/errors.js';
import type { ServiceContext } from '../deps.js';
import { DOMAIN_CHALLENGE_PREFIX } from './service.js';
import { countOrgContents, getOrg, listOrgDomains, pageOrgs, type OrgDomainRow, type OrgRow } from './repository.js';

export type { OrgRow, OrgDomainRow } from './repository.js';

/**
 * Reads of orgs. Each authorizes; an org the caller may not see answers not_found, exactly
 * like one that does not exist, so ids cannot be probed.
 */

/** The orgs the caller's memberships reach (all of them for instance managers), paged and searchable by name. */
export async function orgsInReach(ctx: ServiceContext, f: { nameContains?: string; state?: string }, p: PageParams): Promise<Page<OrgRow>> {
  const perms = await permissionsOf(ctx);
  const page = await pageOrgs(ctx.scope, { ...f, ids: perms.orgIds === 'all' ? undefined : perms.orgIds }, p);
  return page;
}

/** An org the caller's memberships reach (for a manager of a project in it, too). */
export async function orgInReach(ctx: ServiceContext, orgId: string): Promise<OrgRow> {
  const perms = await permissionsOf(ctx);
  const org = await getOrg(ctx.scope, orgId);
  if (!org || (perms.orgIds !== 'all' && !perms.orgIds.includes(orgId))) throw notFound('org', orgId);
  return org;
}

export interface OrgDomainView extends OrgDomainRow {
  /** the TXT record that proves control, for a domain still to verify */
  challenge?: { name: string; value: string };
}

/** The org with its domains, for callers with org.read on it. */
export async function orgWithDomains(ctx: ServiceContext, orgId: string): Promise<{ org: OrgRow; domains: OrgDomainView[] }> {
  const org = await getOrg(ctx.scope, orgId);
  if (!org || !(await isAllowed(ctx, 'org.read', { orgId }))) throw notFound('org', orgId);
  const domains = (await listOrgDomains(ctx.scope, orgId)).map((d) => ({
    ...d,
    ...(!d.is_verified && d.validation_code ? { challenge: { name: `${DOMAIN_CHALLENGE_PREFIX}.${d.domain}`, value: d.validation_code } } : {}),
  }));
  return { org, domains };
}

// ---- the APIs' reads: a missing permission answers permission_denied ----

/** The org the call acts in, for a caller holding `permission` (org.read unless named) on it. */
export async function readOrg(ctx: ServiceContext, orgId: string, permission: Permission = 'org.read'): Promise<OrgRow> {
  await authorize(ctx, permission, { orgId });
  const org = await getOrg(ctx.scope, orgId);
  if (!org) throw notFound('org', orgId);
  return org;
}

export async function domainsOfOrg(ctx: ServiceContext, orgId: string): Promise<OrgDomainRow[]> {
  await authorize(ctx, 'org.read', { orgId });
  return listOrgDomains(ctx.scope, orgId);
}

/** Every org of the instance (needs org.global.read). */
export async function pageAllOrgs(ctx: ServiceContext, f: { nameContains?: string; state?: 'active' | 'inactive' }, p: PageParams): Promise<Page<OrgRow>> {
  await authorize(ctx, 'org.global.read', {});
  return pageOrgs(ctx.scope, f, p);
}

/** An org with what deleting it would remove, for callers with org.delete on it. */
export async function orgDeletionImpact(ctx: ServiceContext, orgId: string): Promise<{ org: OrgRow; counts: Awaited<ReturnType<typeof countOrgContents>> }> {
  const org = await getOrg(ctx.scope, orgId);
  if (!org || !(await isAllowed(ctx, 'org.delete', { orgId }))) throw notFound('org', orgId);
  return { org, counts: await countOrgContents(ctx.scope, orgId) };
}
