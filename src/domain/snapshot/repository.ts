import type { Scope } from '../../db/scope.js';
import type { InstanceDomainRow, InstanceRow } from '../instance/repository.js';
import type { MembershipRow } from '../membership/repository.js';
import type { OrgDomainRow, OrgRow } from '../org/repository.js';
import type { PolicyKind } from '../policy/schemas.js';
import type { UserRow } from '../user/repository.js';
import type { ApplicationRow, ProjectRoleRow, ProjectRow } from '../project/repository.js';
import type { ProjectGrantRow } from '../project-grant/repository.js';
import type { UserGrantRow } from '../user-grant/repository.js';

/**
 * Everything `tessera apply` compares against and `tessera export` writes out: one instance's
 * stored state, read in a handful of scoped queries (read-only; every write goes through the services).
 */
export interface IdpRow {
  id: string;
  org_id: string | null;
  name: string;
  type: string;
  state: string;
  issuer: string;
  client_id: string;
  client_secret_enc: string | null;
  scopes: string[];
  is_linking_allowed: boolean;
  is_creation_allowed: boolean;
  is_auto_creation: boolean;
  is_auto_update: boolean;
  auto_linking: 'none' | 'email' | 'username';
}
export interface PolicyState {
  kind: PolicyKind;
  org_id: string | null;
  settings: Record<string, unknown>;
}

export interface InstanceState {
  instance: InstanceRow;
  domains: InstanceDomainRow[];
  orgs: OrgRow[];
  orgDomains: OrgDomainRow[];
  policies: PolicyState[];
  users: UserRow[];
  metadata: { user_id: string; key: string; value: string }[];
  projects: ProjectRow[];
  roles: ProjectRoleRow[];
  apps: ApplicationRow[];
  grants: ProjectGrantRow[];
  userGrants: UserGrantRow[];
  memberships: MembershipRow[];
  idps: IdpRow[];
}

const parseJson = <T>(v: unknown): T => (typeof v === 'string' ? JSON.parse(v) : v) as T;

export async function readInstanceState(scope: Scope): Promise<InstanceState> {
  // One after another: inside a transaction they share one connection anyway.
  const instance = await scope.table('instances').first();
  const domains = await scope.table('instance_domains').orderBy([{ column: 'is_primary', order: 'desc' }, 'created_at', 'domain']);
  const orgs = await scope.table('orgs').orderBy(['created_at', 'id']);
  const orgDomains = await scope.table('org_domains').orderBy(['created_at', 'domain']);
  const policies = await scope.table('policies').select('kind', 'org_id', 'settings');
  const users = await scope.table('users').orderBy(['created_at', 'id']);
  const metadata = await scope.table('user_metadata').orderBy(['user_id', 'key']);
  const projects = await scope.table('projects').orderBy(['created_at', 'id']);
  const roles = await scope.table('project_roles').orderBy(['created_at', 'key']);
  const apps = await scope.table('applications').orderBy(['created_at', 'id']);
  const grants = await scope.table('project_grants').orderBy(['created_at', 'id']);
  const userGrants = await scope.table('user_grants').orderBy(['created_at', 'id']);
  const memberships = await scope.table('memberships').orderBy(['created_at', 'id']);
  const idps = await scope.table('idps').orderBy(['created_at', 'id']);
  if (!instance) throw new Error(`instance ${scope.instanceId} does not exist`);
  return {
    instance,
    domains,
    orgs,
    orgDomains,
    users,
    metadata,
    projects,
    roles,
    grants,
    userGrants,
    memberships,
    idps,
    policies: (policies as PolicyState[]).map((p) => ({ ...p, settings: parseJson(p.settings) })),
    apps: (apps as ApplicationRow[]).map((a) => ({
      ...a,
      redirect_uris: parseJson(a.redirect_uris),
      post_logout_redirect_uris: parseJson(a.post_logout_redirect_uris),
      grant_types: parseJson(a.grant_types),
      response_types: parseJson(a.response_types),
    })),
  };
}
