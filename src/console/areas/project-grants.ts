import type Router from '@koa/router';
import type { Context } from 'koa';
import { z } from 'zod';
import { grantTargetByDomain, projectGrantOf, projectGrantsOf } from '../../domain/project-grant/queries.js';
import {
  deactivateProjectGrant,
  grantProject,
  reactivateProjectGrant,
  removeProjectGrant,
  updateProjectGrantRoles,
} from '../../domain/project-grant/service.js';
import { projectRoles } from '../../domain/project/queries.js';
import { atVersion } from '../../domain/versions.js';
import { DomainError } from '../../shared/errors.js';
import { consoleState, flash, paths } from '../context.js';
import { buttonAction, checked, errorMessage, listParams, pager, parseForm, refusal, required, version, type FieldErrors } from '../forms.js';
import { inOrg } from './home.js';
import { memberRoutes } from './members.js';
import { projectParams, renderProjectPage } from './project-pages.js';

/**
 * The owner's side of project grants: the orgs a project is granted to, each with a subset of the
 * project's roles; grant it to another org (named by one of its verified domains), change the
 * subset (roles dropped leave the user grants made under it), deactivate, and remove with a
 * confirmation that says how many user grants go with it.
 */
const newForm = z.object({ domain: required(253), roleKeys: checked() });
const rolesForm = z.object({ version, roleKeys: checked() });
const versionForm = z.object({ version });

type FormState = { values?: Record<string, unknown>; errors?: FieldErrors };
const grantParams = (ctx: Context) => (ctx as unknown as { params: { grantId: string } }).params;
const fieldOf = {
  'project_grant.org_unknown': 'domain',
  'project_grant.own_org': 'domain',
  'project_grant.exists': 'domain',
  'project_grant.roles_not_subset': 'roleKeys',
  invalid_input: 'roleKeys',
};

async function listPage(ctx: Context, state: FormState = {}, status = 200): Promise<void> {
  const c = consoleState(ctx);
  const { orgId, projectId } = projectParams(ctx);
  const p = listParams(ctx, ['createdAt', 'state'], 'createdAt');
  const [{ project, page }, { roles }] = await Promise.all([projectGrantsOf(c.svc, orgId, projectId, p), projectRoles(c.svc, orgId, projectId)]);
  await renderProjectPage(
    ctx,
    'project-grants',
    project,
    'grants',
    {
      grants: page.rows,
      roles,
      pager: pager(ctx, page.total, p),
      canWrite: c.perms.can('project.grant.write', { orgId, projectId }),
      values: state.values ?? {},
      errors: state.errors ?? {},
    },
    { titleKey: 'grants.title', status },
  );
}

async function grantPage(ctx: Context, state: FormState = {}, status = 200): Promise<void> {
  const c = consoleState(ctx);
  const { orgId, projectId } = projectParams(ctx);
  const { project, grant, roles } = await projectGrantOf(c.svc, orgId, projectId, grantParams(ctx).grantId);
  const on = { orgId, projectId, projectGrantId: grant.id };
  await renderProjectPage(
    ctx,
    'project-grant',
    project,
    'grants',
    {
      grant,
      roles,
      values: state.values,
      errors: state.errors ?? {},
      can: {
        write: c.perms.can('project.grant.write', on),
        delete: c.perms.can('project.grant.delete', on),
        members: c.perms.can('project.grant.member.read', on),
      },
    },
    { titleKey: 'grant.title', titleVars: { org: grant.grantedOrgName }, status },
  );
}

export function projectGrantRoutes(router: Router): void {
  const base = '/orgs/:orgId/projects/:projectId/grants';
  router.get(base, inOrg, (ctx) => listPage(ctx));

  router.post(base, inOrg, async (ctx) => {
    const c = consoleState(ctx);
    const { orgId, projectId } = projectParams(ctx);
    await projectRoles(c.svc, orgId, projectId);
    const form = parseForm(ctx, newForm);
    if (!form.ok) return listPage(ctx, form, 400);
    let id: string;
    let orgName: string;
    try {
      const target = await grantTargetByDomain(c.svc, orgId, projectId, form.data.domain);
      orgName = target.name;
      ({ id } = await grantProject(c.svc, { projectId, grantedOrgId: target.id, roleKeys: form.data.roleKeys }));
    } catch (err) {
      return listPage(ctx, { values: form.data, errors: refusal(ctx, err, fieldOf) }, 400);
    }
    await flash(ctx, 'ok', c.t('grants.created', { org: orgName }));
    ctx.redirect(paths.projectGrant(orgId, projectId, id));
  });

  const one = `${base}/:grantId`;
  router.get(one, inOrg, (ctx) => grantPage(ctx));

  router.post(one, inOrg, async (ctx) => {
    const c = consoleState(ctx);
    const { orgId, projectId } = projectParams(ctx);
    const { grant } = await projectGrantOf(c.svc, orgId, projectId, grantParams(ctx).grantId);
    const form = parseForm(ctx, rolesForm);
    if (!form.ok) return grantPage(ctx, form, 400);
    try {
      await atVersion(c.svc, 'project_grant', grant.id, form.data.version, (svc) => updateProjectGrantRoles(svc, grant.id, form.data.roleKeys));
    } catch (err) {
      const stale = err instanceof DomainError && err.code === 'precondition_failed';
      return grantPage(ctx, { values: form.data, errors: refusal(ctx, err, fieldOf) }, stale ? 409 : 400);
    }
    await flash(ctx, 'ok', c.t('grant.saved'));
    ctx.redirect(paths.projectGrant(orgId, projectId, grant.id));
  });

  for (const [name, fn] of [
    ['deactivate', deactivateProjectGrant],
    ['reactivate', reactivateProjectGrant],
  ] as const) {
    router.post(`${one}/${name}`, inOrg, async (ctx) => {
      const c = consoleState(ctx);
      const { orgId, projectId } = projectParams(ctx);
      const { grant } = await projectGrantOf(c.svc, orgId, projectId, grantParams(ctx).grantId);
      const form = parseForm(ctx, versionForm);
      await buttonAction(
        ctx,
        () => atVersion(c.svc, 'project_grant', grant.id, form.ok ? form.data.version : undefined, (svc) => fn(svc, grant.id)),
        c.t(`grant.${name}d`),
        paths.projectGrant(orgId, projectId, grant.id),
      );
    });
  }

  router.get(`${one}/remove`, inOrg, async (ctx) => {
    const c = consoleState(ctx);
    const { orgId, projectId } = projectParams(ctx);
    const { project, grant } = await projectGrantOf(c.svc, orgId, projectId, grantParams(ctx).grantId);
    if (!c.perms.can('project.grant.delete', { orgId, projectId, projectGrantId: grant.id })) {
      ctx.status = 404;
      return;
    }
    await renderProjectPage(
      ctx,
      'project-grant-remove',
      project,
      'grants',
      { grant },
      { titleKey: 'grant.removeTitle', titleVars: { org: grant.grantedOrgName } },
    );
  });

  router.post(`${one}/remove`, inOrg, async (ctx) => {
    const c = consoleState(ctx);
    const { orgId, projectId } = projectParams(ctx);
    const { grant } = await projectGrantOf(c.svc, orgId, projectId, grantParams(ctx).grantId);
    const form = parseForm(ctx, versionForm);
    try {
      await atVersion(c.svc, 'project_grant', grant.id, form.ok ? form.data.version : undefined, (svc) => removeProjectGrant(svc, grant.id));
    } catch (err) {
      if (!(err instanceof DomainError) || err.code === 'not_found' || err.code === 'permission_denied') throw err;
      await flash(ctx, 'error', errorMessage(ctx, err));
      ctx.redirect(paths.projectGrant(orgId, projectId, grant.id));
      return;
    }
    await flash(ctx, 'ok', c.t('grant.removed', { org: grant.grantedOrgName }));
    ctx.redirect(paths.projectGrants(orgId, projectId));
  });

  memberRoutes(router, 'project_grant');
}
