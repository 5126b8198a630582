import type Router from '@koa/router';
import type { Context } from 'koa';
import { z } from 'zod';
import { roleTableFor } from '../../authz/index.js';
import { memberAt, memberCandidate, memberPermissions, membersAt, placeResource, rolesForLevel, type MemberPlace } from '../../domain/membership/queries.js';
import { addMember, changeMemberRoles, removeMember } from '../../domain/membership/service.js';
import { projectGrantOf } from '../../domain/project-grant/queries.js';
import { projectInOrg } from '../../domain/project/queries.js';
import { atVersion } from '../../domain/versions.js';
import { DomainError } from '../../shared/errors.js';
import { consoleState, flash, paths, type ConsoleState } from '../context.js';
import { buttonAction, checked, listParams, pager, parseForm, refusal, required, version, type FieldErrors } from '../forms.js';
import type { ConsoleArea } from '../index.js';
import { hasMessage } from '../i18n.js';
import { renderConsole } from '../render.js';
import { inOrg } from './home.js';
import { renderProjectPage } from './project-pages.js';

/**
 * Managers at the three places an org's admins hand out: the org, a project, and a project grant
 * (in the owner's context, where the grant lives). One module for all three: list, add (a user
 * of the org by username, anyone by exact login name), change roles, remove. The role picker
 * explains each role in plain words; roles the configuration adds are described by what they allow.
 */
type Level = MemberPlace['level'];
const addForm = z.object({ user: required(320), roles: checked(50) });
const rolesForm = z.object({ version, roles: checked(50) });
const fieldOf = {
  'membership.exists': 'user',
  'membership.unknown_role': 'roles',
  'membership.role_level': 'roles',
  invalid_input: 'roles',
  'membership.last_iam_owner': '_form',
};

type Params = { orgId: string; projectId?: string; grantId?: string; membershipId?: string };
const params = (ctx: Context) => (ctx as unknown as { params: Params }).params;

/** The place of this request, read (and checked) through the domain; what the caller may not see is a 404. */
async function placeOf(ctx: Context, level: Level): Promise<{ place: MemberPlace; base: string; heading: { key: string; vars: Record<string, string> } }> {
  const c = consoleState(ctx);
  const { orgId, projectId, grantId } = params(ctx);
  if (level === 'org') return { place: { level, orgId }, base: paths.orgMembers(orgId), heading: { key: 'members.orgTitle', vars: { name: c.org!.name } } };
  if (level === 'project') {
    const project = await projectInOrg(c.svc, orgId, projectId!, 'project.member.read');
    return {
      place: { level, orgId, projectId: project.id },
      base: paths.projectMembers(orgId, project.id),
      heading: { key: 'members.projectTitle', vars: { name: project.name } },
    };
  }
  const { grant } = await projectGrantOf(c.svc, orgId, projectId!, grantId!);
  return {
    place: { level, orgId, projectId: projectId!, projectGrantId: grant.id, grantedOrgId: grant.granted_org_id },
    base: `${paths.projectGrant(orgId, projectId!, grant.id)}/managers`,
    heading: { key: 'members.grantTitle', vars: { org: grant.grantedOrgName } },
  };
}

/** The roles of a level with what each allows, in plain words where the catalogue has them. */
export function roleChoices(c: ConsoleState, level: Level): { role: string; help: string }[] {
  const table = roleTableFor(c.svc.deps.config.roles);
  return rolesForLevel(c.svc, level).map((role) => ({
    role,
    help: hasMessage(c.locale, `role.${role}`) ? c.t(`role.${role}`) : c.t('role.custom', { permissions: [...(table[role] ?? [])].join(', ') }),
  }));
}

/** A members page at its place; the title is the place's heading unless `titleKey` names another. */
async function render(
  ctx: Context,
  level: Level,
  view: string,
  data: Record<string, unknown>,
  key: string | undefined,
  status = 200,
  vars: Record<string, string> = {},
) {
  const c = consoleState(ctx);
  const { place, base, heading } = await placeOf(ctx, level);
  const titleKey = key ?? heading.key;
  const all = {
    ...data,
    base,
    heading: c.t(heading.key, heading.vars),
    level,
    choices: roleChoices(c, level),
    canWrite: c.perms.can(memberPermissions(place).write, placeResource(place)),
  };
  const titleVars = { ...heading.vars, ...vars };
  if (level === 'org') return renderConsole(ctx, view, all, { titleKey, titleVars, navKey: 'managers', status });
  const project = await projectInOrg(c.svc, place.orgId, (place as { projectId: string }).projectId);
  return renderProjectPage(ctx, view, project, level === 'project' ? 'managers' : 'grants', all, { titleKey, titleVars, status });
}

type FormState = { values?: Record<string, unknown>; errors?: FieldErrors };

async function listPage(ctx: Context, level: Level, state: FormState = {}, status = 200): Promise<void> {
  const c = consoleState(ctx);
  const { place } = await placeOf(ctx, level);
  const p = listParams(ctx, ['createdAt'], 'createdAt');
  const page = await membersAt(c.svc, place, p);
  await render(
    ctx,
    level,
    'members',
    { members: page.rows, pager: pager(ctx, page.total, p), values: state.values ?? {}, errors: state.errors ?? {} },
    undefined,
    status,
  );
}

async function memberPage(ctx: Context, level: Level, state: FormState = {}, status = 200): Promise<void> {
  const c = consoleState(ctx);
  const { place } = await placeOf(ctx, level);
  const member = await memberAt(c.svc, place, params(ctx).membershipId!);
  await render(ctx, level, 'member', { member, values: state.values, errors: state.errors ?? {} }, 'members.editTitle', status, {
    user: member.user?.preferredLoginName ?? member.user_id,
  });
}

export function memberRoutes(router: Router, level: Level): void {
  const base =
    level === 'org'
      ? '/orgs/:orgId/managers'
      : level === 'project'
        ? '/orgs/:orgId/projects/:projectId/managers'
        : '/orgs/:orgId/projects/:projectId/grants/:grantId/managers';

  router.get(base, inOrg, (ctx) => listPage(ctx, level));

  router.post(base, inOrg, async (ctx) => {
    const c = consoleState(ctx);
    const { place, base: back } = await placeOf(ctx, level);
    const form = parseForm(ctx, addForm);
    if (!form.ok) return listPage(ctx, level, form, 400);
    if (!form.data.roles.length) return listPage(ctx, level, { values: form.data, errors: { roles: c.t('members.pickRole') } }, 400);
    const user = await memberCandidate(c.svc, place, form.data.user);
    if (!user) return listPage(ctx, level, { values: form.data, errors: { user: c.t('members.userUnknown') } }, 400);
    try {
      await addMember(c.svc, { ...place, userId: user.id, roles: form.data.roles });
    } catch (err) {
      return listPage(ctx, level, { values: form.data, errors: refusal(ctx, err, fieldOf) }, 400);
    }
    await flash(ctx, 'ok', c.t('members.added', { user: user.preferredLoginName }));
    ctx.redirect(back);
  });

  router.get(`${base}/:membershipId`, inOrg, (ctx) => memberPage(ctx, level));

  router.post(`${base}/:membershipId`, inOrg, async (ctx) => {
    const c = consoleState(ctx);
    const { place, base: back } = await placeOf(ctx, level);
    const member = await memberAt(c.svc, place, params(ctx).membershipId!);
    const form = parseForm(ctx, rolesForm);
    if (!form.ok) return memberPage(ctx, level, form, 400);
    if (!form.data.roles.length) return memberPage(ctx, level, { values: form.data, errors: { roles: c.t('members.pickRoleOrRemove') } }, 400);
    try {
      await atVersion(c.svc, 'membership', member.id, form.data.version, (svc) => changeMemberRoles(svc, member.id, form.data.roles));
    } catch (err) {
      const stale = err instanceof DomainError && err.code === 'precondition_failed';
      return memberPage(ctx, level, { values: form.data, errors: refusal(ctx, err, fieldOf) }, stale ? 409 : 400);
    }
    await flash(ctx, 'ok', c.t('members.saved', { user: member.user?.preferredLoginName ?? '' }));
    ctx.redirect(back);
  });

  router.post(`${base}/:membershipId/remove`, inOrg, async (ctx) => {
    const c = consoleState(ctx);
    const { place, base: back } = await placeOf(ctx, level);
    const member = await memberAt(c.svc, place, params(ctx).membershipId!);
    await buttonAction(ctx, () => removeMember(c.svc, member.id), c.t('members.removed', { user: member.user?.preferredLoginName ?? '' }), back);
  });
}

/** The org's managers, in the org's navigation. */
export const orgMembersArea: ConsoleArea = {
  nav: { key: 'managers', labelKey: 'nav.managers', order: 50, permission: 'org.member.read', path: paths.orgMembers },
  routes(router) {
    memberRoutes(router, 'org');
  },
};
