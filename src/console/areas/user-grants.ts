import type { Context } from 'koa';
import { z } from 'zod';
import { givableProjects, givableRoles, orgUserGrant, orgUserGrants, userToAuthorize } from '../../domain/user-grant/queries.js';
import { addUserGrant, deactivateUserGrant, reactivateUserGrant, removeUserGrant, updateUserGrant } from '../../domain/user-grant/service.js';
import { atVersion } from '../../domain/versions.js';
import { DomainError } from '../../shared/errors.js';
import { consoleState, flash, paths } from '../context.js';
import { buttonAction, checked, listParams, pager, parseForm, refusal, required, version, type FieldErrors } from '../forms.js';
import type { ConsoleArea } from '../index.js';
import { renderConsole } from '../render.js';
import { inOrg } from './home.js';

/**
 * Authorizations (user grants) the org gives: to its own users and, named by their exact login
 * name, to users of other orgs; on its own projects and on the roles of projects granted to it;
 * with an optional expiry. Adding is two steps that work without JavaScript: whom and which
 * project, then which roles.
 */
const day = /^\d{4}-\d{2}-\d{2}$/;
/** A day picked in the form ('' for none): the grant holds through that whole day (UTC). */
const expiry = z
  .string()
  .trim()
  .max(10, 'form.tooLong')
  .optional()
  .transform((v) => v ?? '')
  .refine((v) => v === '' || (day.test(v) && !Number.isNaN(Date.parse(`${v}T00:00:00Z`))), 'form.date');
const endOfDay = (v: string) => (v ? new Date(Date.parse(`${v}T00:00:00Z`) + 86_400_000) : null);
const addForm = z.object({ user: required(320), projectId: required(30), roleKeys: checked(), expires: expiry });
/** seenExpires: the day the form showed; unchanged, the stored moment stays as it is. */
const editForm = z.object({ version, roleKeys: checked(), expires: expiry, seenExpires: expiry });
const versionForm = z.object({ version });
const fieldOf = {
  'user_grant.exists': 'user',
  'user_grant.roles_not_subset': 'roleKeys',
  'user_grant.expiry_in_past': 'expires',
  'user_grant.org_not_granted': 'projectId',
  invalid_input: '_form',
};

/** The day an expiry shows as in the form: the last day the grant holds. */
export const expiryDay = (d: Date | null) => (d ? new Date(new Date(d).getTime() - 1).toISOString().slice(0, 10) : '');

type FormState = { values?: Record<string, unknown>; errors?: FieldErrors };
const idParam = (ctx: Context) => (ctx as unknown as { params: { id: string } }).params.id;
const query = (ctx: Context, name: string) => (typeof ctx.query[name] === 'string' ? (ctx.query[name] as string).slice(0, 320) : '');

async function listPage(ctx: Context): Promise<void> {
  const c = consoleState(ctx);
  const orgId = c.org!.id;
  const p = listParams(ctx, ['createdAt', 'state'], 'createdAt');
  const projects = await givableProjects(c.svc, orgId, true);
  const projectId = projects.find((x) => x.projectId === query(ctx, 'project'))?.projectId;
  const userName = query(ctx, 'user');
  const user = userName ? await userToAuthorize(c.svc, orgId, userName, true) : undefined;
  const page = userName && !user ? { total: 0, rows: [] } : await orgUserGrants(c.svc, orgId, { projectId, userId: user?.id }, p);
  await renderConsole(
    ctx,
    'user-grants',
    {
      grants: page.rows,
      pager: pager(ctx, page.total, p),
      projects,
      projectId: projectId ?? '',
      userName,
      userUnknown: Boolean(userName && !user),
      canAdd: (await givableProjects(c.svc, orgId)).length > 0,
      expiryDay,
    },
    { titleKey: 'authz.title', navKey: 'authorizations' },
  );
}

/**
 * The add form. Without a chosen project and user: step one (whom, which project). With them,
 * checked: step two (roles, expiry), or step one again with the message for what was wrong.
 */
async function addPage(ctx: Context, input: { user: string; projectId: string; change?: boolean }, state: FormState = {}, status = 200): Promise<void> {
  const c = consoleState(ctx);
  const orgId = c.org!.id;
  const projects = await givableProjects(c.svc, orgId);
  if (!projects.length) {
    ctx.status = 404;
    return;
  }
  const errors: FieldErrors = { ...state.errors };
  let step2: { user: NonNullable<Awaited<ReturnType<typeof userToAuthorize>>>; project: Awaited<ReturnType<typeof givableRoles>> } | undefined;
  if ((input.user || input.projectId) && !input.change) {
    const user = input.user ? await userToAuthorize(c.svc, orgId, input.user) : undefined;
    const chosen = projects.find((x) => x.projectId === input.projectId);
    if (!input.user) errors.user ??= c.t('form.required');
    else if (!user) errors.user ??= c.t('authz.userUnknown');
    if (!chosen) errors.projectId ??= c.t('authz.pickProject');
    if (user && chosen) step2 = { user, project: await givableRoles(c.svc, orgId, chosen.projectId) };
  }
  await renderConsole(
    ctx,
    'user-grant-new',
    {
      projects,
      input,
      step2,
      values: state.values ?? {},
      errors: input.change ? {} : errors,
    },
    { titleKey: 'authz.newTitle', navKey: 'authorizations', status: status === 200 && !step2 && !input.change && Object.keys(errors).length ? 400 : status },
  );
}

async function grantPage(ctx: Context, state: FormState = {}, status = 200): Promise<void> {
  const c = consoleState(ctx);
  const orgId = c.org!.id;
  const { grant, givable } = await orgUserGrant(c.svc, orgId, idParam(ctx));
  const on = grant.project_grant_id ? { orgId, projectGrantId: grant.project_grant_id } : { orgId, projectId: grant.project_id };
  await renderConsole(
    ctx,
    'user-grant',
    {
      grant,
      givable,
      expiryDay,
      values: state.values,
      errors: state.errors ?? {},
      can: { write: c.perms.can('user.grant.write', on), delete: c.perms.can('user.grant.delete', on) },
    },
    { titleKey: 'authz.grantTitle', titleVars: { user: grant.user?.preferredLoginName ?? '', project: grant.projectName }, navKey: 'authorizations', status },
  );
}

export const userGrantsArea: ConsoleArea = {
  nav: { key: 'authorizations', labelKey: 'nav.authorizations', order: 40, permission: 'user.grant.read', path: paths.userGrants },
  routes(router) {
    const base = '/orgs/:orgId/authorizations';
    router.get(base, inOrg, listPage);
    router.get(`${base}/new`, inOrg, (ctx) => addPage(ctx, { user: query(ctx, 'user'), projectId: query(ctx, 'project'), change: Boolean(ctx.query.change) }));

    router.post(base, inOrg, async (ctx) => {
      const c = consoleState(ctx);
      const orgId = c.org!.id;
      const form = parseForm(ctx, addForm);
      const input = {
        user: String(form.ok ? form.data.user : (form.values.user ?? '')),
        projectId: String(form.ok ? form.data.projectId : (form.values.projectId ?? '')),
      };
      if (!form.ok) return addPage(ctx, input, form, 400);
      const user = await userToAuthorize(c.svc, orgId, form.data.user);
      if (!user) return addPage(ctx, input, { values: form.values, errors: { user: c.t('authz.userUnknown') } }, 400);
      let id: string;
      try {
        ({ id } = await addUserGrant(c.svc, {
          userId: user.id,
          projectId: form.data.projectId,
          orgId,
          roleKeys: form.data.roleKeys,
          expiresAt: endOfDay(form.data.expires),
        }));
      } catch (err) {
        return addPage(ctx, input, { values: form.values, errors: refusal(ctx, err, fieldOf) }, 400);
      }
      await flash(ctx, 'ok', c.t('authz.added', { user: user.preferredLoginName }));
      ctx.redirect(paths.userGrant(orgId, id));
    });

    const one = `${base}/:id`;
    router.get(one, inOrg, (ctx) => grantPage(ctx));

    router.post(one, inOrg, async (ctx) => {
      const c = consoleState(ctx);
      const orgId = c.org!.id;
      const { grant } = await orgUserGrant(c.svc, orgId, idParam(ctx));
      const form = parseForm(ctx, editForm);
      if (!form.ok) return grantPage(ctx, form, 400);
      try {
        await atVersion(c.svc, 'user_grant', grant.id, form.data.version, (svc) =>
          updateUserGrant(svc, grant.id, { roleKeys: form.data.roleKeys, expiresAt: endOfDay(form.data.expires) }),
        );
      } catch (err) {
        const stale = err instanceof DomainError && err.code === 'precondition_failed';
        return grantPage(ctx, { values: form.values, errors: refusal(ctx, err, fieldOf) }, stale ? 409 : 400);
      }
      await flash(ctx, 'ok', c.t('authz.saved'));
      ctx.redirect(paths.userGrant(orgId, grant.id));
    });

    for (const [name, fn] of [
      ['deactivate', deactivateUserGrant],
      ['reactivate', reactivateUserGrant],
    ] as const) {
      router.post(`${one}/${name}`, inOrg, async (ctx) => {
        const c = consoleState(ctx);
        const { grant } = await orgUserGrant(c.svc, c.org!.id, idParam(ctx));
        const form = parseForm(ctx, versionForm);
        await buttonAction(
          ctx,
          () => atVersion(c.svc, 'user_grant', grant.id, form.ok ? form.data.version : undefined, (svc) => fn(svc, grant.id)),
          c.t(`authz.${name}d`),
          paths.userGrant(c.org!.id, grant.id),
        );
      });
    }

    router.post(`${one}/remove`, inOrg, async (ctx) => {
      const c = consoleState(ctx);
      const { grant } = await orgUserGrant(c.svc, c.org!.id, idParam(ctx));
      const form = parseForm(ctx, versionForm);
      await buttonAction(
        ctx,
        () => atVersion(c.svc, 'user_grant', grant.id, form.ok ? form.data.version : undefined, (svc) => removeUserGrant(svc, grant.id)),
        c.t('authz.removed', { user: grant.user?.preferredLoginName ?? '' }),
        paths.userGrants(c.org!.id),
      );
    });
  },
};
