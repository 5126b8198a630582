import type { MembershipLevel } from '../domain/membership/repository.js';
import * as ops from './ops.js';
import { diffFields, label, sameSet, type PlanContext } from './plan.js';
import type { AppSpec, MemberSpec, ProjectSpec, SpecPath } from './spec.js';

const liveOrgs = (p: PlanContext) => (p.spec.orgs ?? []).map((org, i) => ({ org, i })).filter(({ org }) => !org.absent);

/** Projects of every org, with their roles and apps. Grants come after, once all roles are known. */
export async function planProjects(p: PlanContext): Promise<void> {
  for (const { org, i } of liveOrgs(p)) {
    const orgId = p.orgIds.get(org.name)!;
    for (const [j, spec] of (org.projects ?? []).entries()) await planProject(p, org.name, orgId, spec, ['orgs', i, 'projects', j]);
  }
}

async function planProject(p: PlanContext, orgName: string, orgId: string, spec: ProjectSpec, at: SpecPath): Promise<void> {
  const cur = p.idx.project(orgId, spec.name);
  const what = `project ${label(spec.name)}`;
  if (spec.absent) {
    if (cur) {
      p.add('-', `${what} of ${label(orgName)}`, at, (ctx) => ops.deleteProject(ctx, cur.id));
      p.projectIds.delete(`${orgId}/${spec.name}`);
    }
    return;
  }
  const projectId = cur?.id ?? p.newId();
  const settings = {
    projectRoleAssertion: spec.projectRoleAssertion,
    projectRoleCheck: spec.projectRoleCheck,
    hasProjectCheck: spec.hasProjectCheck,
    privateLabelingSetting: spec.privateLabelingSetting,
  };
  if (!cur) {
    p.projectIds.set(`${orgId}/${spec.name}`, projectId);
    p.projectOwner.set(projectId, orgId);
    p.projectRoles.set(projectId, new Set());
    p.add('+', `${what} of ${label(orgName)}`, at, (ctx) => ops.createProject(ctx, { id: projectId, orgId, name: spec.name, ...settings }));
    if (spec.state === 'inactive')
      p.add('~', `${what}: state active → inactive`, [...at, 'state'], (ctx) => ops.setProjectState(ctx, projectId, 'inactive'), { last: true });
  } else {
    const { notes, patch } = diffFields<typeof settings>([
      ['projectRoleAssertion', cur.project_role_assertion, settings.projectRoleAssertion],
      ['projectRoleCheck', cur.project_role_check, settings.projectRoleCheck],
      ['hasProjectCheck', cur.has_project_check, settings.hasProjectCheck],
      ['privateLabelingSetting', cur.private_labeling_setting, settings.privateLabelingSetting],
    ]);
    if (notes.length) p.add('~', `${what}: ${notes.join(', ')}`, at, (ctx) => ops.updateProject(ctx, projectId, patch));
    if (spec.state && spec.state !== cur.state) {
      p.add('~', `${what}: state ${cur.state} → ${spec.state}`, [...at, 'state'], (ctx) => ops.setProjectState(ctx, projectId, spec.state!), {
        last: spec.state === 'inactive',
      });
    }
  }

  const roles = p.projectRoles.get(projectId)!;
  const storedRoles = cur ? p.idx.roles(cur.id) : [];
  (spec.roles ?? []).forEach((r, k) => {
    const where = [...at, 'roles', k];
    const stored = storedRoles.find((s) => s.key === r.key);
    if (r.absent) {
      if (stored) {
        p.add('-', `${what} role ${r.key}`, where, (ctx) => ops.removeProjectRole(ctx, projectId, r.key));
        roles.delete(r.key);
      }
      return;
    }
    roles.add(r.key);
    if (!stored) {
      p.add('+', `${what} role ${r.key}`, where, (ctx) =>
        ops.addProjectRole(ctx, projectId, { key: r.key, displayName: r.displayName ?? r.key, group: r.group }),
      );
      return;
    }
    const { notes, patch } = diffFields<{ displayName: string; group: string | null }>([
      ['displayName', stored.display_name, r.displayName],
      ['group', stored.group, r.group],
    ]);
    if (notes.length) p.add('~', `${what} role ${r.key}: ${notes.join(', ')}`, where, (ctx) => ops.updateProjectRole(ctx, projectId, r.key, patch));
  });

  for (const [k, app] of (spec.apps ?? []).entries()) await planApp(p, what, projectId, cur ? p.idx.apps(cur.id) : [], app, [...at, 'apps', k]);
}

async function planApp(
  p: PlanContext,
  project: string,
  projectId: string,
  stored: ReturnType<PlanContext['idx']['apps']>,
  spec: AppSpec,
  at: SpecPath,
): Promise<void> {
  const cur = stored.find((a) => (spec.clientId ? a.client_id === spec.clientId : a.name === spec.name));
  const what = `${project} app ${label(spec.name)}`;
  if (spec.absent) {
    if (cur) p.add('-', what, at, (ctx) => ops.deleteApplication(ctx, cur.id));
    return;
  }
  const secret = p.secret(spec.secretFromEnv, `the client secret of app ${spec.name}`);
  const settings = {
    name: spec.name,
    authMethod: spec.authMethod,
    redirectUris: spec.redirectUris,
    postLogoutRedirectUris: spec.postLogoutRedirectUris,
    grantTypes: spec.grantTypes,
    responseTypes: spec.responseTypes,
    accessTokenType: spec.accessTokenType,
    idTokenRoleAssertion: spec.idTokenRoleAssertion,
    accessTokenRoleAssertion: spec.accessTokenRoleAssertion,
    idTokenUserinfoAssertion: spec.idTokenUserinfoAssertion,
    clockSkewS: spec.clockSkewS,
    devMode: spec.devMode,
    skipConsent: spec.skipConsent,
    jwks: spec.jwks,
  };
  if (!cur) {
    if (spec.clientId && p.idx.s.apps.some((a) => a.client_id === spec.clientId)) {
      p.fail([...at, 'clientId'], `client id ${spec.clientId} belongs to an app of another project`);
    }
    p.add('+', `${what}${spec.clientId ? ` (client id ${spec.clientId})` : ''}`, at, async (ctx) => {
      const created = await ops.createApplication(ctx, projectId, {
        id: p.newId(),
        appType: spec.type,
        clientId: spec.clientId,
        clientSecret: secret,
        ...settings,
      });
      if (created.clientSecret && !secret) ops.announce(`client secret of ${what} (${created.clientId}), shown once: ${created.clientSecret}`);
    });
    return;
  }
  if (cur.app_type !== spec.type) p.fail([...at, 'type'], `app ${spec.name} is a ${cur.app_type} app; its type cannot change`);
  const { notes, patch } = diffFields<typeof settings>([
    ['name', cur.name, settings.name],
    ['authMethod', cur.auth_method, settings.authMethod],
    ['redirectUris', cur.redirect_uris, settings.redirectUris],
    ['postLogoutRedirectUris', cur.post_logout_redirect_uris, settings.postLogoutRedirectUris],
    ['grantTypes', cur.grant_types, settings.grantTypes],
    ['responseTypes', cur.response_types, settings.responseTypes],
    ['accessTokenType', cur.access_token_type, settings.accessTokenType],
    ['idTokenRoleAssertion', cur.id_token_role_assertion, settings.idTokenRoleAssertion],
    ['accessTokenRoleAssertion', cur.access_token_role_assertion, settings.accessTokenRoleAssertion],
    ['idTokenUserinfoAssertion', cur.id_token_userinfo_assertion, settings.idTokenUserinfoAssertion],
    ['clockSkewS', cur.clock_skew_s, settings.clockSkewS],
    ['devMode', cur.dev_mode, settings.devMode],
    ['skipConsent', cur.skip_consent, settings.skipConsent],
    ['jwks', cur.jwks, settings.jwks],
  ]);
  if (notes.length) p.add('~', `${what}: ${notes.join(', ')}`, at, (ctx) => ops.updateApplication(ctx, cur.id, patch));
  if (secret && !(await p.secretMatches(cur.client_secret_hash, secret))) {
    p.add('~', `${what}: client secret (from $${spec.secretFromEnv})`, [...at, 'secretFromEnv'], (ctx) => ops.setClientSecret(ctx, cur.id, secret));
  }
}

/** Project grants, by project and granted org; their roles must be roles the project will have. */
export function planProjectGrants(p: PlanContext): void {
  for (const { org, i } of liveOrgs(p)) {
    const ownerId = p.orgIds.get(org.name)!;
    (org.projects ?? []).forEach((project, j) => {
      if (project.absent) return;
      const projectId = p.projectIds.get(`${ownerId}/${project.name}`)!;
      (project.grants ?? []).forEach((g, k) => {
        const at: SpecPath = ['orgs', i, 'projects', j, 'grants', k];
        const grantedOrgId = p.orgIds.get(g.org);
        if (!grantedOrgId) p.fail([...at, 'org'], `unknown org "${g.org}"`);
        if (grantedOrgId === ownerId) p.fail([...at, 'org'], `project "${project.name}" cannot be granted to its own org`);
        const what = `grant of project ${label(project.name)} to ${label(g.org)}`;
        const curId = p.grantIds.get(`${projectId}/${grantedOrgId}`);
        const cur = curId ? p.idx.grantById(curId) : undefined;
        if (g.absent) {
          if (cur) {
            p.add('-', what, at, (ctx) => ops.removeProjectGrant(ctx, cur.id));
            p.grantIds.delete(`${projectId}/${grantedOrgId}`);
          }
          return;
        }
        const roles = p.projectRoles.get(projectId)!;
        g.roles.forEach((key, r) => {
          if (!roles.has(key)) p.fail([...at, 'roles', r], `unknown role "${key}": project "${project.name}" has ${[...roles].join(', ') || 'no roles'}`);
        });
        const grantId = curId ?? p.newId();
        p.grantRoles.set(grantId, new Set(g.roles));
        if (!cur) {
          p.grantIds.set(`${projectId}/${grantedOrgId}`, grantId);
          p.add('+', `${what} with roles ${g.roles.join(', ') || '(none)'}`, at, (ctx) =>
            ops.grantProject(ctx, { id: grantId, projectId, grantedOrgId, roleKeys: g.roles }),
          );
          if (g.state === 'inactive')
            p.add('~', `${what}: state active → inactive`, [...at, 'state'], (ctx) => ops.setProjectGrantState(ctx, grantId, 'inactive'), { last: true });
          return;
        }
        if (!sameSet(cur.role_keys, g.roles)) {
          p.add('~', `${what}: roles ${cur.role_keys.join(', ') || '(none)'} → ${g.roles.join(', ') || '(none)'}`, [...at, 'roles'], (ctx) =>
            ops.updateProjectGrantRoles(ctx, grantId, g.roles),
          );
        }
        if (g.state && g.state !== cur.state) {
          p.add('~', `${what}: state ${cur.state} → ${g.state}`, [...at, 'state'], (ctx) => ops.setProjectGrantState(ctx, grantId, g.state!), {
            last: g.state === 'inactive',
          });
        }
      });
    });
  }
}

/** Authorizations each org gives: on its own projects, or via a grant it holds. */
export function planUserGrants(p: PlanContext): void {
  for (const { org, i } of liveOrgs(p)) {
    const orgId = p.orgIds.get(org.name)!;
    (org.userGrants ?? []).forEach((g, k) => {
      const at: SpecPath = ['orgs', i, 'userGrants', k];
      const userId = p.resolveUser(g.user, orgId, [...at, 'user']);
      const projectId = p.resolveProject(g.project, orgId, [...at, 'project']);
      const what = `user grant ${label(g.user)} on ${label(g.project)} by ${label(org.name)}`;
      const cur = p.idx.userGrant(userId, projectId, orgId);
      if (g.absent) {
        if (cur) p.add('-', what, at, (ctx) => ops.removeUserGrant(ctx, cur.id));
        return;
      }
      let available: Set<string>;
      if (p.projectOwner.get(projectId) === orgId) {
        available = p.projectRoles.get(projectId)!;
      } else {
        const grantId = p.grantIds.get(`${projectId}/${orgId}`);
        if (!grantId) p.fail([...at, 'project'], `org "${org.name}" neither owns nor holds a grant of project "${g.project}"`);
        available = p.grantRoles.get(grantId)!;
      }
      g.roles.forEach((key, r) => {
        if (!available.has(key))
          p.fail([...at, 'roles', r], `unknown role "${key}": "${org.name}" may give ${[...available].join(', ') || 'no roles'} on "${g.project}"`);
      });
      if (!cur) {
        p.add('+', `${what}: ${g.roles.join(', ') || '(no roles)'}`, at, async (ctx) => {
          const id = p.newId();
          await ops.addUserGrant(ctx, { id, userId, projectId, orgId, roleKeys: g.roles, expiresAt: g.expiresAt ?? undefined });
          if (g.state === 'inactive') await ops.setUserGrantState(ctx, id, 'inactive');
        });
        return;
      }
      const notes: string[] = [];
      const patch: { roleKeys?: string[]; expiresAt?: Date | null } = {};
      if (!sameSet(cur.role_keys, g.roles)) {
        notes.push(`roles ${cur.role_keys.join(', ') || '(none)'} → ${g.roles.join(', ') || '(none)'}`);
        patch.roleKeys = g.roles;
      }
      if (g.expiresAt !== undefined && (cur.expires_at?.getTime() ?? null) !== (g.expiresAt?.getTime() ?? null)) {
        notes.push(`expiresAt ${cur.expires_at?.toISOString() ?? 'none'} → ${g.expiresAt?.toISOString() ?? 'none'}`);
        patch.expiresAt = g.expiresAt;
      }
      if (notes.length) p.add('~', `${what}: ${notes.join(', ')}`, at, (ctx) => ops.updateUserGrant(ctx, cur.id, patch));
      if (g.state && g.state !== cur.state)
        p.add('~', `${what}: state ${cur.state} → ${g.state}`, [...at, 'state'], (ctx) => ops.setUserGrantState(ctx, cur.id, g.state!));
    });
  }
}

/** Managers at every level: instance, org, project and project grant. */
export function planMembers(p: PlanContext): void {
  members(p, 'instance', {}, undefined, p.spec.members, ['members'], 'instance');
  for (const { org, i } of liveOrgs(p)) {
    const orgId = p.orgIds.get(org.name)!;
    members(p, 'org', { orgId }, orgId, org.members, ['orgs', i, 'members'], `org ${label(org.name)}`);
    (org.projects ?? []).forEach((project, j) => {
      if (project.absent) return;
      const projectId = p.projectIds.get(`${orgId}/${project.name}`)!;
      members(p, 'project', { projectId }, orgId, project.members, ['orgs', i, 'projects', j, 'members'], `project ${label(project.name)}`);
      (project.grants ?? []).forEach((g, k) => {
        const grantId = p.grantIds.get(`${projectId}/${p.orgIds.get(g.org)}`);
        if (g.absent || !grantId) return;
        members(
          p,
          'project_grant',
          { projectId, projectGrantId: grantId },
          p.orgIds.get(g.org),
          g.members,
          ['orgs', i, 'projects', j, 'grants', k, 'members'],
          `grant of ${label(project.name)} to ${label(g.org)}`,
        );
      });
    });
  }
}

function members(
  p: PlanContext,
  level: MembershipLevel,
  key: { orgId?: string; projectId?: string; projectGrantId?: string },
  contextOrgId: string | undefined,
  list: MemberSpec[] | undefined,
  path: SpecPath,
  where: string,
): void {
  const stored = p.idx.members(level, key);
  (list ?? []).forEach((m, i) => {
    const at = [...path, i];
    const userId = p.resolveUser(m.user, contextOrgId, [...at, 'user']);
    const cur = stored.find((s) => s.user_id === userId);
    const what = `${where} member ${label(m.user)}`;
    if (m.absent) {
      if (cur) p.add('-', what, at, (ctx) => ops.removeMember(ctx, cur.id));
      return;
    }
    if (!cur) {
      p.add('+', `${what}: ${m.roles.join(', ')}`, at, (ctx) => ops.addMember(ctx, { userId, level, ...key, roles: m.roles }));
    } else if (!sameSet(cur.roles, m.roles)) {
      p.add('~', `${what}: roles ${cur.roles.join(', ')} → ${m.roles.join(', ')}`, [...at, 'roles'], (ctx) => ops.changeMemberRoles(ctx, cur.id, m.roles));
    }
  });
}
