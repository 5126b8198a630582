import type { Scope } from '../db/scope.js';
import { getInstance } from '../domain/instance/repository.js';
import { findOrgByVerifiedDomain, getOrg, primaryOrgDomain } from '../domain/org/repository.js';
import { getEffectivePolicy } from '../domain/policy/service.js';
import type { PrivateLabelingSetting } from '../domain/project/repository.js';
import { requestedOrg } from '../oidc/claims.js';

/**
 * Which org's rules (login policy, branding, IdPs, registration target) apply to a login, in
 * this order: a reserved org scope → the project's private labeling setting → domain discovery
 * → the identified user's own org → the instance default.
 */
export type OrgContextSource = 'scope' | 'project' | 'discovery' | 'user' | 'instance';

export interface OrgContext {
  /** the org whose policies apply; null: the instance defaults */
  orgId: string | null;
  source: OrgContextSource;
  /** only this org's users may finish (set by a reserved org scope) */
  enforced: boolean;
  /** where self-registration creates users */
  registrationOrgId: string | null;
}

export interface OrgContextFacts {
  /** the org a reserved scope names: its id, 'unknown' when it names none that exists, undefined without such a scope */
  scopeOrgId?: string | 'unknown';
  project?: { orgId: string; privateLabeling: PrivateLabelingSetting };
  /** the org the typed login name's domain discovered (only when no user matched) */
  discoveredOrgId?: string;
  userOrgId?: string;
  defaultOrgId: string | null;
}

export class UnknownOrgError extends Error {
  readonly reason = 'login.unknown_org';
  constructor() { super('the organization this sign-in asks for does not exist'); }
}

/** The rule above, on facts already looked up. Pure. */
export function decideOrgContext(f: OrgContextFacts): OrgContext {
  if (f.scopeOrgId === 'unknown') throw new UnknownOrgError();
  if (f.scopeOrgId) return { orgId: f.scopeOrgId, source: 'scope', enforced: true, registrationOrgId: f.scopeOrgId };
  const registrationOrgId = f.discoveredOrgId ?? f.defaultOrgId;
  if (f.project?.privateLabeling === 'enforce_project_resource_owner_policy') {
    return { orgId: f.project.orgId, source: 'project', enforced: false, registrationOrgId };
  }
  if (f.project?.privateLabeling === 'allow_login_user_resource_owner_policy' && !f.userOrgId && !f.discoveredOrgId) {
    // Until the user is known, the project owner's look; afterwards theirs (below).
    return { orgId: f.project.orgId, source: 'project', enforced: false, registrationOrgId };
  }
  if (f.discoveredOrgId) return { orgId: f.discoveredOrgId, source: 'discovery', enforced: false, registrationOrgId };
  if (f.userOrgId) return { orgId: f.userOrgId, source: 'user', enforced: false, registrationOrgId };
  return { orgId: null, source: 'instance', enforced: false, registrationOrgId };
}

/** The domain part of a login name or email: after the last @. */
export function loginNameDomain(loginName: string): string | undefined {
  const at = loginName.lastIndexOf('@');
  return at > 0 && at < loginName.length - 1 ? loginName.slice(at + 1).trim().toLowerCase() : undefined;
}

/** The active org a reserved scope names, or 'unknown'. */
export async function scopeOrg(scope: Scope, scopes: string[]): Promise<string | 'unknown' | undefined> {
  const wanted = requestedOrg(scopes);
  if (!wanted) return undefined;
  const org = wanted.id ? await getOrg(scope, wanted.id) : await findOrgByVerifiedDomain(scope, wanted.domain ?? '');
  if (!org || org.state !== 'active') return 'unknown';
  // The domain scope names an org by its primary domain only.
  if (wanted.domain && (await primaryOrgDomain(scope, org.id)) !== wanted.domain.toLowerCase()) return 'unknown';
  return org.id;
}

/** The org whose verified domain the login name carries, when that org's login policy allows discovery. */
export async function discoverOrg(scope: Scope, loginName: string): Promise<string | undefined> {
  const domain = loginNameDomain(loginName);
  if (!domain) return undefined;
  const org = await findOrgByVerifiedDomain(scope, domain);
  if (!org || org.state !== 'active') return undefined;
  return (await getEffectivePolicy(scope, 'login', org.id)).allowDomainDiscovery ? org.id : undefined;
}

async function projectOfClient(scope: Scope, clientId: string | undefined): Promise<OrgContextFacts['project']> {
  if (!clientId) return undefined;
  const row = await scope.table('applications', 'a')
    .join('projects as p', function joinProject() { this.on('p.instance_id', 'a.instance_id').andOn('p.id', 'a.project_id'); })
    .where('a.client_id', clientId).first('p.org_id', 'p.private_labeling_setting');
  return row ? { orgId: row.org_id, privateLabeling: row.private_labeling_setting } : undefined;
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
export async function resolveOrgContext(scope: Scope, input: OrgContextInput): Promise<OrgContext> {
  const scopeOrgId = await scopeOrg(scope, input.scopes);
  if (scopeOrgId) return decideOrgContext({ scopeOrgId, defaultOrgId: null });
  const [project, discoveredOrgId, instance] = await Promise.all([
    projectOfClient(scope, input.clientId),
    input.unmatchedLoginName && !input.userOrgId ? discoverOrg(scope, input.unmatchedLoginName) : undefined,
    getInstance(scope),
  ]);
  return decideOrgContext({ project, discoveredOrgId, userOrgId: input.userOrgId, defaultOrgId: instance?.default_org_id ?? null });
}

/**
 * Under an org scope with userLoginMustBeDomain, a bare username means a user of that org:
 * it is completed with the org's primary domain (so it cannot match a same-named user elsewhere).
 */
export async function completeLoginName(scope: Scope, ctx: OrgContext, loginName: string): Promise<string> {
  const name = loginName.trim();
  if (!ctx.enforced || !ctx.orgId || name.includes('@')) return name;
  if (!(await getEffectivePolicy(scope, 'domain', ctx.orgId)).userLoginMustBeDomain) return name;
  const domain = await primaryOrgDomain(scope, ctx.orgId);
  return domain ? `${name}@${domain}` : name;
}

/** May this user finish under this context? Only an org scope restricts who. */
export function userFitsContext(ctx: OrgContext, user: { org_id: string }): boolean {
  return !ctx.enforced || ctx.orgId === user.org_id;
}
