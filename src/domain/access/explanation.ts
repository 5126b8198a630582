import type { Scope } from '../../db/scope.js';
import { notFound, permissionDenied, ruleViolation } from '../../shared/errors.js';
import { isAllowed, visibleIn } from '../authorization.js';
import type { ServiceContext } from '../deps.js';
import { getInstance } from '../instance/repository.js';
import { getOrg, primaryOrgDomain } from '../org/repository.js';
import { getProject, findApplicationByClientId, listOrgApplications, type ApplicationRow, type ProjectRow } from '../project/repository.js';
import { getProjectGrant } from '../project-grant/repository.js';
import { activeRoleGrants, listUserGrants, userHasProjectAccess, type UserGrantRow } from '../user-grant/repository.js';
import { getUser, type UserRow } from '../user/repository.js';
import { findUserNamedFromOrg } from '../user/login-name-repository.js';
import { explainLogin, type LoginExplanation } from './login.js';

export type { LoginExplanation } from './login.js';

/**
 * Why a token for this user and this application would carry the roles it carries, whether the
 * project's checks would let the login through, and which org's login policy the user meets and
 * what it asks of them. Built from the same read model as the roles claim (activeRoleGrants) and
 * the same org-context rule as the login pages, so the explanation cannot disagree with either.
 * The Management API, the Auth API (a user's own access) and the console's explainer all call it.
 */
export interface RoleChainLink {
  userGrantId: string;
  givingOrg: { id: string; name: string; primaryDomain: string };
  via: 'project_owner' | 'project_grant';
  projectGrantId: string | null;
  project: { id: string; name: string; ownerOrgId: string };
}

/** Why one of the user's grants on the project gives nothing now: a stable code, and the same in English. */
export type IgnoredReason =
  | 'user_grant_inactive'
  | 'user_grant_expired'
  | 'project_inactive'
  | 'giving_org_inactive'
  | 'owner_org_inactive'
  | 'project_grant_gone'
  | 'project_grant_inactive'
  | 'no_current_role'
  | 'not_counted';

export type LoginCheck = 'user_active' | 'application_active' | 'project_active' | 'projectRoleCheck' | 'hasProjectCheck';

export interface AccessExplanation {
  userId: string;
  clientId: string;
  projectId: string;
  /** names for people: the user, the application and its project */
  names: { user: string; application: string; project: string; projectOwnerOrg: string };
  roles: { key: string; grantedBy: RoleChainLink[] }[];
  /** urn:zitadel:iam:org:project:roles as a token would carry it */
  rolesClaim: Record<string, Record<string, string>>;
  roleAssertion: { projectRoleAssertion: boolean; idTokenRoleAssertion: boolean; accessTokenRoleAssertion: boolean };
  ignoredGrants: { userGrantId: string; givingOrgId: string; code: IgnoredReason; reason: string; expiredAt?: string }[];
  login: {
    allowed: boolean;
    checks: { check: LoginCheck; enabled: boolean; passed: boolean; reason: string; state?: string; userOrgName?: string; via?: 'owner' | 'grant' }[];
  };
  loginPolicy: LoginExplanation;
}

/**
 * The explanation for `userId` and the application `clientId`. The user themself may ask; anyone
 * else needs user.grant.read on the user's org.
 */
export async function explainAccess(ctx: ServiceContext, userId: string, clientId: string): Promise<AccessExplanation> {
  const user = await getUser(ctx.scope, userId);
  const self = ctx.actor.type === 'user' && ctx.actor.userId === userId;
  if (!user) throw notFound('user', userId);
  if (!self && !(await isAllowed(ctx, 'user.grant.read', { orgId: user.org_id }))) throw permissionDenied('user.grant.read');
  const app = await findApplicationByClientId(ctx.scope, clientId);
  if (!app) throw notFound('application', clientId);
  const project = (await getProject(ctx.scope, app.project_id))!;
  const orgs = orgNames(ctx.scope);
  const [grants, loginPolicy] = await Promise.all([
    explainGrants(ctx.scope, user, project, orgs),
    explainLogin(ctx.scope, user, project, (await getInstance(ctx.scope))?.default_org_id ?? null),
  ]);
  const checks = await loginChecks(ctx.scope, user, app, project, grants.hasActiveGrant, orgs);
  return {
    userId: user.id,
    clientId,
    projectId: project.id,
    names: { user: user.username, application: app.name, project: project.name, projectOwnerOrg: (await orgs(project.org_id)).name },
    roles: grants.roles,
    rolesClaim: grants.rolesClaim,
    roleAssertion: {
      projectRoleAssertion: project.project_role_assertion,
      idTokenRoleAssertion: app.id_token_role_assertion,
      accessTokenRoleAssertion: app.access_token_role_assertion,
    },
    ignoredGrants: grants.ignored,
    login: { allowed: checks.every((c) => c.passed), checks },
    loginPolicy,
  };
}

type OrgFacts = { id: string; name: string; primaryDomain: string; state: string };

/** Orgs by id, each read once per explanation. */
function orgNames(scope: Scope): (id: string) => Promise<OrgFacts> {
  const cache = new Map<string, Promise<OrgFacts>>();
  return (id) => {
    if (!cache.has(id)) {
      cache.set(
        id,
        (async () => {
          const [row, domain] = await Promise.all([getOrg(scope, id), primaryOrgDomain(scope, id)]);
          return { id, name: row?.name ?? '', primaryDomain: domain ?? '', state: row?.state ?? 'missing' };
        })(),
      );
    }
    return cache.get(id)!;
  };
}

async function explainGrants(scope: Scope, user: UserRow, project: ProjectRow, org: (id: string) => Promise<OrgFacts>) {
  const active = await activeRoleGrants(scope, user.id, [project.id]);
  const roles = new Map<string, RoleChainLink[]>();
  const rolesClaim: Record<string, Record<string, string>> = {};
  for (const g of active) {
    const giver = await org(g.orgId);
    for (const key of g.roleKeys) {
      const link: RoleChainLink = {
        userGrantId: g.userGrantId,
        givingOrg: { id: giver.id, name: giver.name, primaryDomain: giver.primaryDomain },
        via: g.projectGrantId ? 'project_grant' : 'project_owner',
        projectGrantId: g.projectGrantId,
        project: { id: project.id, name: project.name, ownerOrgId: project.org_id },
      };
      roles.set(key, [...(roles.get(key) ?? []), link]);
      (rolesClaim[key] ??= {})[g.orgId] = g.orgPrimaryDomain;
    }
  }

  const counted = new Set(active.map((g) => g.userGrantId));
  const ignored: AccessExplanation['ignoredGrants'] = [];
  for (const g of await listUserGrants(scope, { userId: user.id, projectId: project.id })) {
    if (counted.has(g.id)) continue;
    const why = await whyIgnored(scope, g, project, org);
    ignored.push({ userGrantId: g.id, givingOrgId: g.org_id, ...why });
  }
  for (const g of active) {
    if (g.roleKeys.length === 0) {
      ignored.push({ userGrantId: g.userGrantId, givingOrgId: g.orgId, code: 'no_current_role', reason: 'the grant holds no current role of the project' });
    }
  }
  return {
    roles: [...roles].map(([key, grantedBy]) => ({ key, grantedBy })).sort((a, b) => a.key.localeCompare(b.key)),
    rolesClaim,
    ignored,
    hasActiveGrant: active.length > 0,
  };
}

async function whyIgnored(
  scope: Scope,
  g: UserGrantRow,
  project: ProjectRow,
  org: (id: string) => Promise<OrgFacts>,
): Promise<{ code: IgnoredReason; reason: string; expiredAt?: string }> {
  if (g.state !== 'active') return { code: 'user_grant_inactive', reason: 'the user grant is deactivated' };
  if (g.expires_at && new Date(g.expires_at).getTime() <= Date.now()) {
    const at = new Date(g.expires_at).toISOString();
    return { code: 'user_grant_expired', reason: `the user grant expired at ${at}`, expiredAt: at };
  }
  if (project.state !== 'active') return { code: 'project_inactive', reason: 'the project is deactivated' };
  if ((await org(g.org_id)).state !== 'active') return { code: 'giving_org_inactive', reason: 'the giving org is deactivated' };
  if ((await org(project.org_id)).state !== 'active') return { code: 'owner_org_inactive', reason: "the project's owner org is deactivated" };
  if (g.project_grant_id) {
    const pg = await getProjectGrant(scope, g.project_grant_id);
    if (!pg) return { code: 'project_grant_gone', reason: 'the project grant it was made under is gone' };
    if (pg.state !== 'active') return { code: 'project_grant_inactive', reason: 'the project grant it was made under is deactivated' };
  }
  return { code: 'not_counted', reason: 'it does not count' };
}

/** The checks the provider makes before it lets the login through (oidc/account.ts loginRefusal), in the same terms. */
async function loginChecks(
  scope: Scope,
  user: UserRow,
  app: ApplicationRow,
  project: ProjectRow,
  hasGrant: boolean,
  org: (id: string) => Promise<OrgFacts>,
): Promise<AccessExplanation['login']['checks']> {
  const hasProject = await userHasProjectAccess(scope, { userId: user.id, userOrgId: user.org_id, projectId: project.id });
  const userOrg = await org(user.org_id);
  const owns = user.org_id === project.org_id;
  return [
    {
      check: 'user_active',
      enabled: true,
      passed: user.state === 'active',
      state: user.state,
      reason: user.state === 'active' ? 'the user is active' : `the user is ${user.state}`,
    },
    { check: 'application_active', enabled: true, passed: app.state === 'active', state: app.state, reason: `the application is ${app.state}` },
    { check: 'project_active', enabled: true, passed: project.state === 'active', state: project.state, reason: `the project is ${project.state}` },
    {
      check: 'projectRoleCheck',
      enabled: project.project_role_check,
      passed: !project.project_role_check || hasGrant,
      reason: hasGrant ? 'the user holds an active grant on the project' : 'the user holds no active grant on the project',
    },
    {
      check: 'hasProjectCheck',
      enabled: project.has_project_check,
      passed: !project.has_project_check || hasProject,
      userOrgName: userOrg.name,
      ...(hasProject ? { via: owns ? ('owner' as const) : ('grant' as const) } : {}),
      reason: hasProject
        ? owns
          ? `the user's org ${userOrg.name} owns the project`
          : `the user's org ${userOrg.name} holds an active grant of the project`
        : `the user's org ${userOrg.name} neither owns the project nor holds an active grant of it`,
    },
  ];
}

/**
 * The explainer's question as a support person asks it: a user named from the org (username, or
 * an exact login name of any org) and an application's client id. Needs user.grant.read in the
 * org; a user the caller may not explain is answered like one who does not exist.
 */
export async function explainNamed(ctx: ServiceContext, orgId: string, userName: string, clientId: string): Promise<AccessExplanation> {
  const seen = await visibleIn(ctx, 'user.grant.read', orgId);
  if (!seen.all && !seen.projectIds.length && !seen.projectGrantIds.length) throw notFound('org', orgId);
  const user = await findUserNamedFromOrg(ctx.scope, orgId, userName);
  if (!user || !(await isAllowed(ctx, 'user.grant.read', { orgId: user.org_id }))) {
    throw ruleViolation('explain.user_unknown', `no user you may explain is named ${userName}`);
  }
  if (!(await findApplicationByClientId(ctx.scope, clientId.trim()))) {
    throw ruleViolation('explain.application_unknown', `no application has the client id ${clientId}`);
  }
  return explainAccess(ctx, user.id, clientId.trim());
}

/** The applications of the org's projects whose configuration the caller may see: the explainer's picker. */
export async function explainableApplications(ctx: ServiceContext, orgId: string) {
  const seen = await visibleIn(ctx, 'project.app.read', orgId);
  if (!seen.all && !seen.projectIds.length) return [];
  return listOrgApplications(ctx.scope, orgId, seen.all ? undefined : seen.projectIds);
}
