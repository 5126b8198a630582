import type { Context } from 'koa';
import { z } from 'zod';
import { orgProjects, projectDeletionImpact, projectInOrg, projectOverview } from '../../domain/project/queries.js';
import { createProject, deactivateProject, deleteProject, reactivateProject, updateProject } from '../../domain/project/service.js';
import { atVersion } from '../../domain/versions.js';
import { DomainError } from '../../shared/errors.js';
import { consoleState, flash, paths } from '../context.js';
import { buttonAction, checkbox, errorMessage, listParams, pager, parseForm, refusal, required, sortLink, version, type FieldErrors } from '../forms.js';
import type { ConsoleArea } from '../index.js';
import { renderConsole } from '../render.js';
import { inOrg } from './home.js';
import { projectAppRoutes } from './project-apps.js';
import { projectGrantRoutes } from './project-grants.js';
import { projectParams, renderProjectPage } from './project-pages.js';
import { projectRoleRoutes } from './project-roles.js';
import { memberRoutes } from './members.js';

/**
 * The Projects area: the org's projects the caller's memberships cover (paged in the database),
 * a new project, and each project's pages: the overview with its settings (role assertion, role
 * check, project check, private labeling), its name and state, and deletion with a confirmation
 * naming what goes with it. Roles, applications, grants and managers have their own modules.
 */
const labeling = ['unspecified', 'enforce_project_resource_owner_policy', 'allow_login_user_resource_owner_policy'] as const;
const createForm = z.object({ name: required() });
const settingsForm = z.object({
  version,
  name: required(),
  projectRoleAssertion: checkbox,
  projectRoleCheck: checkbox,
  hasProjectCheck: checkbox,
  privateLabelingSetting: z.enum(labeling, 'form.invalid'),
});
const versionForm = z.object({ version });

type FormState = { values?: Record<string, unknown>; errors?: FieldErrors };

async function listPage(ctx: Context, state: FormState = {}, status = 200): Promise<void> {
  const c = consoleState(ctx);
  const p = listParams(ctx, ['name', 'state', 'createdAt'], 'name');
  const q = typeof ctx.query.q === 'string' ? ctx.query.q.slice(0, 200) : '';
  const page = await orgProjects(c.svc, c.org!.id, { nameContains: q || undefined }, p);
  await renderConsole(
    ctx,
    'projects',
    {
      projects: page.rows,
      q,
      pager: pager(ctx, page.total, p),
      sort: (f: string) => sortLink(ctx, f, p),
      canCreate: page.canCreate,
      values: state.values ?? {},
      errors: state.errors ?? {},
    },
    { titleKey: 'projects.title', navKey: 'projects', status },
  );
}

async function overviewPage(ctx: Context, state: FormState = {}, status = 200): Promise<void> {
  const c = consoleState(ctx);
  const { orgId, projectId } = projectParams(ctx);
  const project = await projectInOrg(c.svc, orgId, projectId);
  const on = { orgId, projectId };
  // Counts of what the project holds, for those who may see its configuration.
  const parts = c.perms.can('project.app.read', on) ? await projectOverview(c.svc, orgId, projectId) : undefined;
  await renderProjectPage(
    ctx,
    'project',
    project,
    'overview',
    {
      roles: parts?.roles,
      apps: parts?.apps,
      labeling,
      can: { write: c.perms.can('project.write', on), delete: c.perms.can('project.delete', on) },
      values: state.values ?? {},
      errors: state.errors ?? {},
    },
    { titleKey: 'project.title', status },
  );
}

export const projectsArea: ConsoleArea = {
  nav: {
    key: 'projects',
    labelKey: 'nav.projects',
    order: 30,
    permission: ['project.app.read', 'project.member.read', 'project.create'],
    path: paths.projects,
  },
  routes(router, d) {
    router.get('/orgs/:orgId/projects', inOrg, (ctx) => listPage(ctx));

    router.post('/orgs/:orgId/projects', inOrg, async (ctx) => {
      const c = consoleState(ctx);
      const form = parseForm(ctx, createForm);
      if (!form.ok) return listPage(ctx, form, 400);
      try {
        const { id } = await createProject(c.svc, { orgId: c.org!.id, name: form.data.name });
        await flash(ctx, 'ok', c.t('projects.created', { name: form.data.name }));
        ctx.redirect(paths.project(c.org!.id, id));
      } catch (err) {
        await listPage(ctx, { values: form.data, errors: refusal(ctx, err, { 'project.name_taken': 'name', invalid_input: 'name' }) }, 400);
      }
    });

    const base = '/orgs/:orgId/projects/:projectId';
    router.get(base, inOrg, (ctx) => overviewPage(ctx));

    router.post(`${base}/settings`, inOrg, async (ctx) => {
      const c = consoleState(ctx);
      const { orgId, projectId } = projectParams(ctx);
      await projectInOrg(c.svc, orgId, projectId);
      const form = parseForm(ctx, settingsForm);
      if (!form.ok) return overviewPage(ctx, form, 400);
      const { version: v, ...settings } = form.data;
      try {
        await atVersion(c.svc, 'project', projectId, v, (svc) => updateProject(svc, projectId, settings));
      } catch (err) {
        const errors = refusal(ctx, err, { 'project.name_taken': 'name', invalid_input: 'name' });
        return overviewPage(ctx, { values: form.data, errors }, err instanceof DomainError && err.code === 'precondition_failed' ? 409 : 400);
      }
      await flash(ctx, 'ok', c.t('project.saved'));
      ctx.redirect(paths.project(orgId, projectId));
    });

    for (const [name, fn] of [
      ['deactivate', deactivateProject],
      ['reactivate', reactivateProject],
    ] as const) {
      router.post(`${base}/${name}`, inOrg, async (ctx) => {
        const c = consoleState(ctx);
        const { orgId, projectId } = projectParams(ctx);
        await projectInOrg(c.svc, orgId, projectId);
        const form = parseForm(ctx, versionForm);
        await buttonAction(
          ctx,
          () => atVersion(c.svc, 'project', projectId, form.ok ? form.data.version : undefined, (svc) => fn(svc, projectId)),
          c.t(`project.${name}d`),
          paths.project(orgId, projectId),
        );
      });
    }

    router.get(`${base}/delete`, inOrg, async (ctx) => {
      const c = consoleState(ctx);
      const { orgId, projectId } = projectParams(ctx);
      const impact = await projectDeletionImpact(c.svc, orgId, projectId);
      await renderProjectPage(ctx, 'project-delete', impact.project, 'overview', { impact }, { titleKey: 'project.deleteTitle' });
    });

    router.post(`${base}/delete`, inOrg, async (ctx) => {
      const c = consoleState(ctx);
      const { orgId, projectId } = projectParams(ctx);
      const project = await projectInOrg(c.svc, orgId, projectId);
      const form = parseForm(ctx, versionForm);
      try {
        await atVersion(c.svc, 'project', projectId, form.ok ? form.data.version : undefined, (svc) => deleteProject(svc, projectId));
      } catch (err) {
        if (!(err instanceof DomainError) || err.code === 'not_found' || err.code === 'permission_denied') throw err;
        await flash(ctx, 'error', errorMessage(ctx, err));
        ctx.redirect(paths.project(orgId, projectId));
        return;
      }
      await flash(ctx, 'ok', c.t('project.deleted', { name: project.name }));
      ctx.redirect(paths.projects(orgId));
    });

    projectRoleRoutes(router);
    projectAppRoutes(router, d);
    projectGrantRoutes(router);
    memberRoutes(router, 'project');
  },
};
