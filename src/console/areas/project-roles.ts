import type Router from '@koa/router';
import type { Context } from 'koa';
import { z } from 'zod';
import { projectInOrg, projectRoleRemovalImpact, projectRoles } from '../../domain/project/queries.js';
import { addProjectRole, removeProjectRole, updateProjectRole } from '../../domain/project/roles.js';
import { DomainError } from '../../shared/errors.js';
import { consoleState, flash, paths } from '../context.js';
import { buttonAction, optional, parseForm, refusal, required, text, type FieldErrors } from '../forms.js';
import { inOrg } from './home.js';
import { projectParams, renderProjectPage } from './project-pages.js';

/**
 * A project's roles: key (fixed once made: tokens and grants carry it), display name and group.
 * Add, edit (refused if someone else changed the role since the form was shown), and remove with
 * a confirmation that says how many project grants and user grants lose the role.
 */
const keyField = required(200).regex(/^\S+$/, 'form.noSpaces');
const addForm = z.object({ key: keyField, displayName: required(), group: optional() });
const editForm = z.object({ key: keyField, displayName: required(), group: optional(), seenDisplayName: text(), seenGroup: text() });
const keyForm = z.object({ key: keyField });

type FormState = { form?: 'add' | 'edit'; values?: Record<string, unknown>; errors?: FieldErrors };

async function rolesPage(ctx: Context, state: FormState = {}, status = 200): Promise<void> {
  const c = consoleState(ctx);
  const { orgId, projectId } = projectParams(ctx);
  const { project, roles } = await projectRoles(c.svc, orgId, projectId);
  const on = { orgId, projectId };
  await renderProjectPage(
    ctx,
    'project-roles',
    project,
    'roles',
    {
      roles,
      can: { write: c.perms.can('project.role.write', on), delete: c.perms.can('project.role.delete', on) },
      form: state.form,
      values: state.values ?? {},
      errors: state.errors ?? {},
    },
    { titleKey: 'project.rolesTitle', status },
  );
}

async function editPage(ctx: Context, key: string, state: FormState = {}, status = 200): Promise<void> {
  const c = consoleState(ctx);
  const { orgId, projectId } = projectParams(ctx);
  const project = await projectInOrg(c.svc, orgId, projectId, 'project.role.write');
  const role = (await projectRoles(c.svc, orgId, projectId)).roles.find((r) => r.key === key);
  if (!role) {
    ctx.status = 404;
    return;
  }
  await renderProjectPage(
    ctx,
    'project-role-edit',
    project,
    'roles',
    { role, values: state.values, errors: state.errors ?? {} },
    { titleKey: 'project.roleEditTitle', titleVars: { key }, status },
  );
}

export function projectRoleRoutes(router: Router): void {
  const base = '/orgs/:orgId/projects/:projectId/roles';
  router.get(base, inOrg, (ctx) => rolesPage(ctx));

  router.post(base, inOrg, async (ctx) => {
    const c = consoleState(ctx);
    const { orgId, projectId } = projectParams(ctx);
    await projectInOrg(c.svc, orgId, projectId);
    const form = parseForm(ctx, addForm);
    if (!form.ok) return rolesPage(ctx, { form: 'add', ...form }, 400);
    try {
      await addProjectRole(c.svc, projectId, { key: form.data.key, displayName: form.data.displayName, group: form.data.group ?? null });
    } catch (err) {
      return rolesPage(ctx, { form: 'add', values: form.data, errors: refusal(ctx, err, { 'project_role.key_taken': 'key', invalid_input: 'key' }) }, 400);
    }
    await flash(ctx, 'ok', c.t('project.roleAdded', { key: form.data.key }));
    ctx.redirect(paths.projectRoles(orgId, projectId));
  });

  router.get(`${base}/edit`, inOrg, (ctx) => editPage(ctx, String(ctx.query.key ?? '')));

  router.post(`${base}/edit`, inOrg, async (ctx) => {
    const c = consoleState(ctx);
    const { orgId, projectId } = projectParams(ctx);
    await projectInOrg(c.svc, orgId, projectId);
    const form = parseForm(ctx, editForm);
    if (!form.ok) return editPage(ctx, String(form.values.key ?? ''), form, 400);
    const { key, displayName, group, seenDisplayName, seenGroup } = form.data;
    try {
      await updateProjectRole(c.svc, projectId, key, { displayName, group: group ?? null }, { displayName: seenDisplayName, group: seenGroup || null });
    } catch (err) {
      const stale = err instanceof DomainError && err.code === 'precondition_failed';
      return editPage(ctx, key, { values: form.data, errors: refusal(ctx, err, { invalid_input: 'displayName' }) }, stale ? 409 : 400);
    }
    await flash(ctx, 'ok', c.t('project.roleSaved', { key }));
    ctx.redirect(paths.projectRoles(orgId, projectId));
  });

  router.get(`${base}/remove`, inOrg, async (ctx) => {
    const c = consoleState(ctx);
    const { orgId, projectId } = projectParams(ctx);
    const impact = await projectRoleRemovalImpact(c.svc, orgId, projectId, String(ctx.query.key ?? ''));
    await renderProjectPage(
      ctx,
      'project-role-remove',
      impact.project,
      'roles',
      { impact },
      { titleKey: 'project.roleRemoveTitle', titleVars: { key: impact.role.key } },
    );
  });

  router.post(`${base}/remove`, inOrg, async (ctx) => {
    const c = consoleState(ctx);
    const { orgId, projectId } = projectParams(ctx);
    await projectInOrg(c.svc, orgId, projectId);
    const form = parseForm(ctx, keyForm);
    if (!form.ok) {
      ctx.redirect(paths.projectRoles(orgId, projectId));
      return;
    }
    await buttonAction(
      ctx,
      () => removeProjectRole(c.svc, projectId, form.data.key),
      c.t('project.roleRemoved', { key: form.data.key }),
      paths.projectRoles(orgId, projectId),
    );
  });
}
