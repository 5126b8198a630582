import type { MembershipRow } from '../domain/membership/repository.js';
import type { PolicyKind } from '../domain/policy/schemas.js';
import type { InstanceState } from '../domain/snapshot/repository.js';

export { readInstanceState, type IdpRow, type InstanceState } from '../domain/snapshot/repository.js';
export { findInstanceIdsByDomains as findInstanceByDomains, instanceExists, listInstanceIds as listAllInstanceIds } from '../domain/instance/repository.js';

/** Lookups over a state snapshot, by the names a file uses. */
export class StateIndex {
  constructor(readonly s: InstanceState) {}

  org(name: string) {
    return this.s.orgs.find((o) => o.name === name);
  }
  orgById(id: string) {
    return this.s.orgs.find((o) => o.id === id);
  }
  user(orgId: string, username: string) {
    return this.s.users.find((u) => u.org_id === orgId && u.username.toLowerCase() === username.toLowerCase());
  }
  userById(id: string) {
    return this.s.users.find((u) => u.id === id);
  }
  project(orgId: string, name: string) {
    return this.s.projects.find((p) => p.org_id === orgId && p.name === name);
  }
  projectById(id: string) {
    return this.s.projects.find((p) => p.id === id);
  }
  roles(projectId: string) {
    return this.s.roles.filter((r) => r.project_id === projectId);
  }
  apps(projectId: string) {
    return this.s.apps.filter((a) => a.project_id === projectId);
  }
  grant(projectId: string, orgId: string) {
    return this.s.grants.find((g) => g.project_id === projectId && g.granted_org_id === orgId);
  }
  grantById(id: string) {
    return this.s.grants.find((g) => g.id === id);
  }
  policy(kind: PolicyKind, orgId: string | null) {
    return this.s.policies.find((p) => p.kind === kind && p.org_id === orgId);
  }
  orgDomains(orgId: string) {
    return this.s.orgDomains.filter((d) => d.org_id === orgId);
  }
  metadata(userId: string) {
    return Object.fromEntries(this.s.metadata.filter((m) => m.user_id === userId).map((m) => [m.key, m.value]));
  }
  idps(orgId: string | null) {
    return this.s.idps.filter((i) => i.org_id === orgId);
  }
  members(level: MembershipRow['level'], key: { orgId?: string; projectId?: string; projectGrantId?: string }) {
    return this.s.memberships.filter(
      (m) =>
        m.level === level &&
        (level !== 'org' || m.org_id === key.orgId) &&
        (level !== 'project' || m.project_id === key.projectId) &&
        (level !== 'project_grant' || m.project_grant_id === key.projectGrantId),
    );
  }
  userGrant(userId: string, projectId: string, orgId: string) {
    return this.s.userGrants.find((g) => g.user_id === userId && g.project_id === projectId && g.org_id === orgId);
  }
}
