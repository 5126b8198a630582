import type { PrivateLabelingSetting } from '../project/repository.js';

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
  constructor() {
    super('the organization this sign-in asks for does not exist');
  }
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
