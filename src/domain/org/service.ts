import { resolveTxt } from 'node:dns/promises';
import { authorize } from '../authorization.js';
import type { Scope } from '../../db/scope.js';
import { isUniqueViolation } from '../../db/scope.js';
import { alreadyExists, DomainError, invalidInput, notFound, ruleViolation } from '../../shared/errors.js';
import { newId, newSecret } from '../../shared/ids.js';
import { appendEvent } from '../audit/repository.js';
import type { ServiceContext } from '../deps.js';
import { getInstance, primaryInstanceDomain } from '../instance/repository.js';
import { countOtherIamOwners } from '../membership/repository.js';
import { getEffectivePolicy } from '../policy/service.js';
import { normalizeDomain } from './domain-name.js';
import {
  clearPrimaryOrgDomain,
  deleteOrgDomain,
  deleteOrgRow,
  findOrgByName,
  findVerifiedDomainHolder,
  getOrg,
  getOrgDomain,
  insertOrg,
  insertOrgDomain,
  listOrgDomains,
  orgSlug,
  updateOrg,
  updateOrgDomain,
  type OrgRow,
} from './repository.js';

export { normalizeDomain } from './domain-name.js';

/** The DNS name whose TXT record proves control of an org domain. */
export const DOMAIN_CHALLENGE_PREFIX = '_tessera-challenge';

function checkName(name: string): string {
  const n = name.trim();
  if (n.length === 0 || n.length > 200) throw invalidInput('an org name must be 1 to 200 characters');
  return n;
}

async function requireOrg(scope: Scope, orgId: string): Promise<OrgRow> {
  const org = await getOrg(scope, orgId);
  if (!org) throw notFound('org', orgId);
  return org;
}

async function generatedDomainFor(scope: Scope, name: string): Promise<string> {
  return `${orgSlug(name)}.${await primaryInstanceDomain(scope)}`;
}

function takenError(domain: string): DomainError {
  return alreadyExists('org_domain.taken', `domain ${domain} is already verified by another organization`);
}

/** Creates an org with its generated, verified, primary domain `{org-slug}.{instance primary domain}`. */
export async function createOrg(ctx: ServiceContext, input: { name: string; id?: string; state?: 'active' | 'inactive' }): Promise<{ id: string }> {
  const name = checkName(input.name);
  await authorize(ctx, 'org.create', {});
  const id = input.id ?? newId();
  try {
    await ctx.scope.transaction(async (scope) => {
      if (await findOrgByName(scope, name)) throw alreadyExists('org.name_taken', `an organization named "${name}" already exists`);
      const domain = await generatedDomainFor(scope, name);
      if (await findVerifiedDomainHolder(scope, domain)) throw takenError(domain);
      await insertOrg(scope, { id, name, state: input.state ?? 'active' });
      await insertOrgDomain(scope, { org_id: id, domain, is_verified: true, is_primary: true, is_generated: true });
      await appendEvent(scope, ctx.actor, { orgId: id, resourceType: 'org', resourceId: id, type: 'org.added', payload: { name, domain } });
    });
  } catch (err) {
    // Two concurrent creations of the same name both pass the check; the constraint decides.
    if (isUniqueViolation(err, 'orgs_instance_id_name_unique')) throw alreadyExists('org.name_taken', `an organization named "${name}" already exists`);
    if (isUniqueViolation(err, 'orgs_pkey')) throw alreadyExists('org.id_taken', `an organization with id ${id} already exists`);
    if (isUniqueViolation(err, 'org_domains_verified_once')) throw takenError(`${orgSlug(name)}.*`);
    throw err;
  }
  return { id };
}

/**
 * Renames an org; its generated domain follows the new name (as in ZITADEL), so login names
 * on the generated domain change too.
 */
export async function renameOrg(ctx: ServiceContext, orgId: string, newName: string): Promise<void> {
  const name = checkName(newName);
  await authorize(ctx, 'org.write', { orgId });
  try {
    await ctx.scope.transaction(async (scope) => {
      const org = await requireOrg(scope, orgId);
      if (org.name === name) return;
      const other = await findOrgByName(scope, name);
      if (other && other.id !== orgId) throw alreadyExists('org.name_taken', `an organization named "${name}" already exists`);
      await updateOrg(scope, orgId, { name });
      const generated = (await listOrgDomains(scope, orgId)).find((d) => d.is_generated);
      const domain = await generatedDomainFor(scope, name);
      if (generated && generated.domain !== domain) {
        if (await findVerifiedDomainHolder(scope, domain, orgId)) throw takenError(domain);
        const existing = await getOrgDomain(scope, orgId, domain); // the org may have added it by hand
        if (existing) {
          await deleteOrgDomain(scope, orgId, generated.domain);
          await updateOrgDomain(scope, orgId, domain, {
            is_verified: true,
            is_generated: true,
            is_primary: existing.is_primary || generated.is_primary,
            validation_code: null,
          });
        } else {
          await updateOrgDomain(scope, orgId, generated.domain, { domain });
        }
      }
      await appendEvent(scope, ctx.actor, { orgId, resourceType: 'org', resourceId: orgId, type: 'org.renamed', payload: { from: org.name, to: name } });
    });
  } catch (err) {
    if (isUniqueViolation(err, 'orgs_instance_id_name_unique')) throw alreadyExists('org.name_taken', `an organization named "${name}" already exists`);
    throw err;
  }
  // The org's name and primary domain are claims the OIDC provider caches until told.
  await ctx.deps.changes.publish(ctx.scope.instanceId);
}

/** Refuses a change that would take away every active IAM_OWNER with the org's users. */
async function refuseLosingLastIamOwner(scope: Scope, orgId: string): Promise<void> {
  if ((await countOtherIamOwners(scope, '', { exceptOrgId: orgId })) === 0) {
    throw ruleViolation('org.last_iam_owner', "the instance's last active IAM_OWNER belongs to this organization");
  }
}

async function setOrgState(ctx: ServiceContext, orgId: string, state: 'active' | 'inactive'): Promise<void> {
  await authorize(ctx, 'org.write', { orgId });
  await ctx.scope.transaction(async (scope) => {
    const org = await requireOrg(scope, orgId);
    if (org.state === state) throw ruleViolation(`org.already_${state}`, `organization ${orgId} is already ${state}`);
    if (state === 'inactive' && (await getInstance(scope))?.default_org_id === orgId) {
      throw ruleViolation('org.default_org', "the instance's default organization cannot be deactivated");
    }
    if (state === 'inactive') await refuseLosingLastIamOwner(scope, orgId);
    await updateOrg(scope, orgId, { state });
    await appendEvent(scope, ctx.actor, { orgId, resourceType: 'org', resourceId: orgId, type: state === 'active' ? 'org.reactivated' : 'org.deactivated' });
  });
  await ctx.deps.changes.publish(ctx.scope.instanceId);
}

/** An inactive org stays stored; its users, projects and grants count for nothing until reactivated. */
export const deactivateOrg = (ctx: ServiceContext, orgId: string) => setOrgState(ctx, orgId, 'inactive');
export const reactivateOrg = (ctx: ServiceContext, orgId: string) => setOrgState(ctx, orgId, 'active');

/**
 * Deletes an org. Foreign keys cascade to its users, projects (with their roles, apps and
 * grants given), the project grants it received, user grants and memberships in it.
 */
export async function deleteOrg(ctx: ServiceContext, orgId: string): Promise<void> {
  await authorize(ctx, 'org.delete', { orgId });
  await ctx.scope.transaction(async (scope) => {
    const org = await requireOrg(scope, orgId);
    if ((await getInstance(scope))?.default_org_id === orgId) {
      throw ruleViolation('org.default_org', "the instance's default organization cannot be deleted");
    }
    await refuseLosingLastIamOwner(scope, orgId);
    await deleteOrgRow(scope, orgId);
    await appendEvent(scope, ctx.actor, { orgId, resourceType: 'org', resourceId: orgId, type: 'org.removed', payload: { name: org.name } });
  });
  await ctx.deps.changes.publish(ctx.scope.instanceId);
}

/**
 * Adds a domain to an org. It starts unverified and must be proven with verifyOrgDomain, unless
 * the domain policy does not ask for validation, or a trusted caller (system, CLI) says verified.
 */
export async function addOrgDomain(
  ctx: ServiceContext,
  orgId: string,
  domainName: string,
  opts: { verified?: boolean } = {},
): Promise<{ domain: string; verified: boolean; validationCode: string | null }> {
  const domain = normalizeDomain(domainName);
  await authorize(ctx, 'org.write', { orgId });
  try {
    const added = await ctx.scope.transaction(async (scope) => {
      await requireOrg(scope, orgId);
      if (await getOrgDomain(scope, orgId, domain)) throw alreadyExists('org_domain.exists', `the organization already has domain ${domain}`);
      const policy = await getEffectivePolicy(scope, 'domain', orgId);
      const trusted = ctx.actor.type !== 'user' && opts.verified === true;
      const verified = trusted || !policy.validateOrgDomains;
      if (verified && (await findVerifiedDomainHolder(scope, domain, orgId))) throw takenError(domain);
      const validationCode = verified ? null : newSecret(18);
      await insertOrgDomain(scope, { org_id: orgId, domain, is_verified: verified, is_primary: false, is_generated: false, validation_code: validationCode });
      await appendEvent(scope, ctx.actor, { orgId, resourceType: 'org', resourceId: orgId, type: 'org.domain.added', payload: { domain, verified } });
      return { domain, verified, validationCode };
    });
    // A verified domain is one the login discovers its org by (kept with the provider: src/domain/sign-in-reads.ts).
    if (added.verified) await ctx.deps.changes.publish(ctx.scope.instanceId);
    return added;
  } catch (err) {
    // A concurrent verification of the same domain, or a double add, loses here.
    if (isUniqueViolation(err, 'org_domains_verified_once')) throw takenError(domain);
    if (isUniqueViolation(err, 'org_domains_pkey')) throw alreadyExists('org_domain.exists', `the organization already has domain ${domain}`);
    throw err;
  }
}

async function dnsProves(domain: string, code: string): Promise<boolean> {
  try {
    const records = await resolveTxt(`${DOMAIN_CHALLENGE_PREFIX}.${domain}`);
    return records.some((parts) => parts.join('') === code);
  } catch {
    return false;
  }
}

/**
 * Marks a domain verified. A user must prove control with a DNS TXT record
 * `_tessera-challenge.{domain}` holding the validation code; system and CLI callers are trusted.
 */
export async function verifyOrgDomain(ctx: ServiceContext, orgId: string, domainName: string): Promise<void> {
  const domain = normalizeDomain(domainName);
  await authorize(ctx, 'org.write', { orgId });
  const row = await getOrgDomain(ctx.scope, orgId, domain);
  if (!row) throw notFound('org domain', domain);
  if (row.is_verified) return;
  if (ctx.actor.type === 'user' && !(row.validation_code && (await dnsProves(domain, row.validation_code)))) {
    throw ruleViolation('org_domain.verification_failed', `no TXT record ${DOMAIN_CHALLENGE_PREFIX}.${domain} holds the validation code`);
  }
  try {
    await ctx.scope.transaction(async (scope) => {
      if (await findVerifiedDomainHolder(scope, domain, orgId)) throw takenError(domain);
      await updateOrgDomain(scope, orgId, domain, { is_verified: true, validation_code: null });
      await appendEvent(scope, ctx.actor, { orgId, resourceType: 'org', resourceId: orgId, type: 'org.domain.verified', payload: { domain } });
    });
  } catch (err) {
    if (isUniqueViolation(err, 'org_domains_verified_once')) throw takenError(domain);
    throw err;
  }
  await ctx.deps.changes.publish(ctx.scope.instanceId);
}

/** The primary domain gives users their preferred login name; it must be verified. */
export async function setPrimaryOrgDomain(ctx: ServiceContext, orgId: string, domainName: string): Promise<void> {
  const domain = normalizeDomain(domainName);
  await authorize(ctx, 'org.write', { orgId });
  await ctx.scope.transaction(async (scope) => {
    const row = await getOrgDomain(scope, orgId, domain);
    if (!row) throw notFound('org domain', domain);
    if (!row.is_verified) throw ruleViolation('org_domain.not_verified', `domain ${domain} must be verified before it can be primary`);
    if (row.is_primary) return;
    await clearPrimaryOrgDomain(scope, orgId);
    await updateOrgDomain(scope, orgId, domain, { is_primary: true });
    await appendEvent(scope, ctx.actor, { orgId, resourceType: 'org', resourceId: orgId, type: 'org.domain.primary_set', payload: { domain } });
  });
  await ctx.deps.changes.publish(ctx.scope.instanceId);
}

export async function removeOrgDomain(ctx: ServiceContext, orgId: string, domainName: string): Promise<void> {
  const domain = normalizeDomain(domainName);
  await authorize(ctx, 'org.write', { orgId });
  await ctx.scope.transaction(async (scope) => {
    const row = await getOrgDomain(scope, orgId, domain);
    if (!row) throw notFound('org domain', domain);
    if (row.is_primary) throw ruleViolation('org_domain.primary', 'the primary domain cannot be removed; make another domain primary first');
    await deleteOrgDomain(scope, orgId, domain);
    await appendEvent(scope, ctx.actor, { orgId, resourceType: 'org', resourceId: orgId, type: 'org.domain.removed', payload: { domain } });
  });
  await ctx.deps.changes.publish(ctx.scope.instanceId);
}
