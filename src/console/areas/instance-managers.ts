import type Router from '@koa/router';
import type { Context } from 'koa';
import { z } from 'zod';
import { instanceMember, instanceMemberCandidate, instanceMembers } from '../../domain/membership/queries.js';
import { addMember, changeMemberRoles, removeMember } from '../../domain/membership/service.js';
import { atVersion } from '../../domain/versions.js';
import { DomainError } from '../../shared/errors.js';
import { consoleState, flash, paths } from '../context.js';
import { buttonAction, checked, listParams, pager, parseForm, refusal, required, version, type FieldErrors } from '../forms.js';
import { renderConsole } from '../render.js';
import { atInstance } from './instance-guard.js';
import { roleChoices } from './members.js';

/**
 * The instance's managers (IAM_* roles), with the org managers' pages (views/console/members.ejs
 * and member.ejs): list, add anyone by exact login name, change roles, remove. The membership
 * service decides (a role of another level is refused; the last IAM_OWNER stays).
 */
const addForm = z.object({ user: required(320), roles: checked(50) });
const rolesForm = z.object({ version, roles: checked(50) });
const fieldOf = { 'membership.exists': 'user', 'membership.unknown_role': 'roles', 'membership.role_level': 'roles', invalid_input: 'roles' };
type State = { values?: Record<string, unknown>; errors?: FieldErrors };

function common(ctx: Context) {
  const c = consoleState(ctx);
  return {
    base: paths.instanceManagers,
    heading: c.t('instanceManagers.title'),
    level: 'instance',
    choices: roleChoices(c, 'instance' as unknown as 'org'),
    canWrite: c.perms.can('iam.member.write', {}),
  };
}

async function listPage(ctx: Context, state: State = {}, status = 200): Promise<void> {
  const c = consoleState(ctx);
  const p = listParams(ctx, ['createdAt'], 'createdAt');
  const page = await instanceMembers(c.svc, p);
  await renderConsole(
    ctx,
    'members',
    { ...common(ctx), members: page.rows, pager: pager(ctx, page.total, p), values: state.values ?? {}, errors: state.errors ?? {} },
    { titleKey: 'instanceManagers.title', navKey: 'instance', status },
  );
}

async function memberPage(ctx: Context, state: State = {}, status = 200): Promise<void> {
  const c = consoleState(ctx);
  const member = await instanceMember(c.svc, ctx.params.membershipId);
  await renderConsole(
    ctx,
    'member',
    { ...common(ctx), member, values: state.values, errors: state.errors ?? {} },
    {
      titleKey: 'members.editTitle',
      titleVars: { user: member.user?.preferredLoginName ?? member.user_id },
      navKey: 'instance',
      status,
    },
  );
}

export function instanceManagerRoutes(router: Router): void {
  const base = '/instance/managers';
  const guard = atInstance('iam.member.read');
  router.get(base, guard, (ctx) => listPage(ctx));

  router.post(base, guard, async (ctx) => {
    const c = consoleState(ctx);
    const form = parseForm(ctx, addForm);
    if (!form.ok) return listPage(ctx, form, 400);
    if (!form.data.roles.length) return listPage(ctx, { values: form.data, errors: { roles: c.t('members.pickRole') } }, 400);
    const user = await instanceMemberCandidate(c.svc, form.data.user);
    if (!user) return listPage(ctx, { values: form.data, errors: { user: c.t('members.userUnknown') } }, 400);
    try {
      await addMember(c.svc, { level: 'instance', userId: user.id, roles: form.data.roles });
    } catch (err) {
      return listPage(ctx, { values: form.data, errors: refusal(ctx, err, fieldOf) }, 400);
    }
    await flash(ctx, 'ok', c.t('members.added', { user: user.preferredLoginName }));
    ctx.redirect(paths.instanceManagers);
  });

  router.get(`${base}/:membershipId`, guard, (ctx) => memberPage(ctx));

  router.post(`${base}/:membershipId`, guard, async (ctx) => {
    const c = consoleState(ctx);
    const member = await instanceMember(c.svc, ctx.params.membershipId);
    const form = parseForm(ctx, rolesForm);
    if (!form.ok) return memberPage(ctx, form, 400);
    if (!form.data.roles.length) return memberPage(ctx, { values: form.data, errors: { roles: c.t('members.pickRoleOrRemove') } }, 400);
    try {
      await atVersion(c.svc, 'membership', member.id, form.data.version, (svc) => changeMemberRoles(svc, member.id, form.data.roles));
    } catch (err) {
      const stale = err instanceof DomainError && err.code === 'precondition_failed';
      return memberPage(ctx, { values: form.data, errors: refusal(ctx, err, { ...fieldOf, 'membership.last_iam_owner': '_form' }) }, stale ? 409 : 400);
    }
    await flash(ctx, 'ok', c.t('members.saved', { user: member.user?.preferredLoginName ?? '' }));
    ctx.redirect(paths.instanceManagers);
  });

  router.post(`${base}/:membershipId/remove`, guard, async (ctx) => {
    const c = consoleState(ctx);
    const member = await instanceMember(c.svc, ctx.params.membershipId);
    await buttonAction(
      ctx,
      () => removeMember(c.svc, member.id),
      c.t('members.removed', { user: member.user?.preferredLoginName ?? '' }),
      paths.instanceManagers,
    );
  });
}
