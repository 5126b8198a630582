import type { Scope } from '../db/scope.js';
import { decideOrgContext, type OrgContext } from '../domain/policy/org-context.js';
import { readsOf, type SignInReads } from '../domain/sign-in.js';
import { requestedOrg } from '../oidc/claims.js';

/** The rule itself is pure and lives in the domain, where the access explainer applies it too. */
export { decideOrgContext, UnknownOrgError, type OrgContext, type OrgContextFacts, type OrgContextSource } from '../domain/policy/org-context.js';

/** The domain part of a login name or email: after the last @. */
export function loginNameDomain(loginName: string): string | undefined {
  const at = loginName.lastIndexOf('@');
  return at > 0 && at < loginName.length - 1
    ? loginName
        .slice(at + 1)
        .trim()
        .toLowerCase()
    : undefined;
}

/**
 * Every read here takes a Scope (straight from the database) or the reads of the instance's
 * provider (step.oidc.signIn: kept until a change notice, src/domain/sign-in-reads.ts).
 */
type Source = Scope | SignInReads;

/** The active org a reserved scope names, or 'unknown'. */
export async function scopeOrg(source: Source, scopes: string[]): Promise<string | 'unknown' | undefined> {
  const wanted = requestedOrg(scopes);
  if (!wanted) return undefined;
  const reads = readsOf(source);
  const org = wanted.id ? await reads.org(wanted.id) : await reads.orgByVerifiedDomain(wanted.domain ?? '');
  if (!org || org.state !== 'active') return 'unknown';
  // The domain scope names an org by its primary domain only.
  if (wanted.domain && (await reads.orgPrimaryDomain(org.id)) !== wanted.domain.toLowerCase()) return 'unknown';
  return org.id;
}

/** The org whose verified domain the login name carries, when that org's login policy allows discovery. */
export async function discoverOrg(source: Source, loginName: string): Promise<string | undefined> {
  const domain = loginNameDomain(loginName);
  if (!domain) return undefined;
  const reads = readsOf(source);
  const org = await reads.orgByVerifiedDomain(domain);
  if (!org || org.state !== 'active') return undefined;
  return (await reads.policy('login', org.id)).allowDomainDiscovery ? org.id : undefined;
}

export interface OrgContextInput {
  scopes: string[];
  clientId?: string;
  /** what the user typed, when no user matched it (for discovery) */
  unmatchedLoginName?: string;
  /** the identified user's org */
  userOrgId?: string;
}

/** Looks up the facts and applies the rule. Throws UnknownOrgError for a reserved scope naming no org. */
export async function resolveOrgContext(source: Source, input: OrgContextInput): Promise<OrgContext> {
  const reads = readsOf(source);
  const scopeOrgId = await scopeOrg(reads, input.scopes);
  if (scopeOrgId) return decideOrgContext({ scopeOrgId, defaultOrgId: null });
  const [project, discoveredOrgId, fallbackOrgId] = await Promise.all([
    input.clientId ? reads.projectOfClient(input.clientId) : undefined,
    input.unmatchedLoginName && !input.userOrgId ? discoverOrg(reads, input.unmatchedLoginName) : undefined,
    reads.instance().then((i) => i?.default_org_id ?? null),
  ]);
  return decideOrgContext({ project, discoveredOrgId, userOrgId: input.userOrgId, defaultOrgId: fallbackOrgId });
}

/**
 * Under an org scope with userLoginMustBeDomain, a bare username means a user of that org:
 * it is completed with the org's primary domain (so it cannot match a same-named user elsewhere).
 */
export async function completeLoginName(source: Source, ctx: OrgContext, loginName: string): Promise<string> {
  const name = loginName.trim();
  if (!ctx.enforced || !ctx.orgId || name.includes('@')) return name;
  const reads = readsOf(source);
  if (!(await reads.policy('domain', ctx.orgId)).userLoginMustBeDomain) return name;
  const domain = await reads.orgPrimaryDomain(ctx.orgId);
  return domain ? `${name}@${domain}` : name;
}

/** May this user finish under this context? Only an org scope restricts who. */
export function userFitsContext(ctx: OrgContext, user: { org_id: string }): boolean {
  return !ctx.enforced || ctx.orgId === user.org_id;
}
