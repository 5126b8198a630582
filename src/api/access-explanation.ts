import { z } from 'zod';
import type { Scope } from '../db/scope.js';
import { getOrg, primaryOrgDomain } from '../domain/org/repository.js';
import { findApplicationByClientId, getProject } from '../domain/project/repository.js';
import { getProjectGrant } from '../domain/project-grant/repository.js';
import { activeRoleGrants, userHasProjectAccess } from '../domain/user-grant/repository.js';
import { listUserGrants } from '../domain/user-grant/repository.js';
import type { UserRow } from '../domain/user/repository.js';
import { notFound } from '../shared/errors.js';

/**
 * Why a token for this user and this application would carry the roles it carries, and
 * whether the project's checks would let the login through. Built from the same read model
 * as the roles claim (activeRoleGrants), so the explanation cannot disagree with the token.
 */
const chainLink = z.object({
  userGrantId: z.string(),
  givingOrg: z.object({ id: z.string(), name: z.string(), primaryDomain: z.string() }),
  via: z.enum(['project_owner', 'project_grant']),
  projectGrantId: z.string().nullable(),
  project: z.object({ id: z.string(), name: z.string(), ownerOrgId: z.string() }),
}).meta({ id: 'RoleChain' });

export const accessExplanationSchema = z.object({
  userId: z.string(), clientId: z.string(), projectId: z.string(),
  roles: z.array(z.object({ key: z.string(), grantedBy: z.array(chainLink) })),
  rolesClaim: z.record(z.string(), z.record(z.string(), z.string()))
    .meta({ description: 'urn:zitadel:iam:org:project:roles as a token would carry it' }),
  roleAssertion: z.object({
    projectRoleAssertion: z.boolean().meta({ description: 'roles are added without a role scope' }),
    idTokenRoleAssertion: z.boolean(), accessTokenRoleAssertion: z.boolean(),
  }),
  ignoredGrants: z.array(z.object({ userGrantId: z.string(), givingOrgId: z.string(), reason: z.string() }))
    .meta({ description: 'the user\'s grants on the project that give nothing now, and why' }),
  login: z.object({
    allowed: z.boolean(),
    checks: z.array(z.object({ check: z.string(), enabled: z.boolean(), passed: z.boolean(), reason: z.string() })),
  }),
}).meta({ id: 'AccessExplanation' });

export type AccessExplanation = z.input<typeof accessExplanationSchema>;

export async function explainAccess(scope: Scope, user: UserRow, clientId: string): Promise<AccessExplanation> {
  const app = await findApplicationByClientId(scope, clientId);
  if (!app) throw notFound('application', clientId);
  const project = (await getProject(scope, app.project_id))!;
  const active = await activeRoleGrants(scope, user.id, [project.id]);

  const orgCache = new Map<string, { id: string; name: string; primaryDomain: string; state: string }>();
  const org = async (id: string) => {
    if (!orgCache.has(id)) {
      const row = await getOrg(scope, id);
      orgCache.set(id, { id, name: row?.name ?? '', primaryDomain: (await primaryOrgDomain(scope, id)) ?? '', state: row?.state ?? 'missing' });
    }
    return orgCache.get(id)!;
  };

  const roles = new Map<string, z.input<typeof chainLink>[]>();
  const rolesClaim: Record<string, Record<string, string>> = {};
  for (const g of active) {
    const giver = await org(g.orgId);
    for (const key of g.roleKeys) {
      const link = {
        userGrantId: g.userGrantId, givingOrg: { id: giver.id, name: giver.name, primaryDomain: giver.primaryDomain },
        via: g.projectGrantId ? 'project_grant' as const : 'project_owner' as const, projectGrantId: g.projectGrantId,
        project: { id: project.id, name: project.name, ownerOrgId: project.org_id },
      };
      roles.set(key, [...(roles.get(key) ?? []), link]);
      (rolesClaim[key] ??= {})[g.orgId] = g.orgPrimaryDomain;
    }
  }

  const counted = new Set(active.map((g) => g.userGrantId));
  const ignoredGrants = [];
  for (const g of await listUserGrants(scope, { userId: user.id, projectId: project.id })) {
    if (counted.has(g.id)) continue;
    ignoredGrants.push({ userGrantId: g.id, givingOrgId: g.org_id, reason: await whyIgnored(scope, g, project, org) });
  }
  for (const g of active) {
    if (g.roleKeys.length === 0) ignoredGrants.push({ userGrantId: g.userGrantId, givingOrgId: g.orgId, reason: 'the grant holds no current role of the project' });
  }

  const checks = [
    { check: 'user_active', enabled: true, passed: user.state === 'active', reason: user.state === 'active' ? 'the user is active' : `the user is ${user.state}` },
    { check: 'application_active', enabled: true, passed: app.state === 'active', reason: `the application is ${app.state}` },
    { check: 'project_active', enabled: true, passed: project.state === 'active', reason: `the project is ${project.state}` },
  ];
  const hasGrant = active.length > 0;
  checks.push({
    check: 'projectRoleCheck', enabled: project.project_role_check, passed: !project.project_role_check || hasGrant,
    reason: hasGrant ? 'the user holds an active grant on the project' : 'the user holds no active grant on the project',
  });
  const hasProject = await userHasProjectAccess(scope, { userId: user.id, userOrgId: user.org_id, projectId: project.id });
  const userOrg = await org(user.org_id);
  checks.push({
    check: 'hasProjectCheck', enabled: project.has_project_check, passed: !project.has_project_check || hasProject,
    reason: hasProject
      ? (user.org_id === project.org_id ? `the user's org ${userOrg.name} owns the project` : `the user's org ${userOrg.name} holds an active grant of the project`)
      : `the user's org ${userOrg.name} neither owns the project nor holds an active grant of it`,
  });

  return {
    userId: user.id, clientId, projectId: project.id,
    roles: [...roles].map(([key, grantedBy]) => ({ key, grantedBy })).sort((a, b) => a.key.localeCompare(b.key)),
    rolesClaim,
    roleAssertion: {
      projectRoleAssertion: project.project_role_assertion, idTokenRoleAssertion: app.id_token_role_assertion,
      accessTokenRoleAssertion: app.access_token_role_assertion,
    },
    ignoredGrants,
    login: { allowed: checks.every((c) => c.passed), checks },
  };
}

async function whyIgnored(scope: Scope, g: { state: string; expires_at: Date | null; project_grant_id: string | null; org_id: string },
  project: { state: string; org_id: string }, org: (id: string) => Promise<{ state: string }>): Promise<string> {
  if (g.state !== 'active') return 'the user grant is deactivated';
  if (g.expires_at && new Date(g.expires_at).getTime() <= Date.now()) return `the user grant expired at ${new Date(g.expires_at).toISOString()}`;
  if (project.state !== 'active') return 'the project is deactivated';
  if ((await org(g.org_id)).state !== 'active') return 'the giving org is deactivated';
  if ((await org(project.org_id)).state !== 'active') return 'the project\'s owner org is deactivated';
  if (g.project_grant_id) {
    const pg = await getProjectGrant(scope, g.project_grant_id);
    if (!pg) return 'the project grant it was made under is gone';
    if (pg.state !== 'active') return 'the project grant it was made under is deactivated';
  }
  return 'it does not count';
}
