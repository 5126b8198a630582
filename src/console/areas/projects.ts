import { orgProjects, projectOverview } from '../../domain/project/queries.js';
import { consoleState, paths } from '../context.js';
import { listParams, pager, sortLink } from '../forms.js';
import type { ConsoleArea } from '../index.js';
import { renderConsole } from '../render.js';
import { inOrg } from './home.js';

/**
 * The Projects area, read-only for now: the org's projects the caller may see the configuration
 * of (project.app.read), and each project's roles and applications. The next console areas
 * (roles, applications, settings, grants) build their forms on these pages.
 */
export const projectsArea: ConsoleArea = {
  nav: { key: 'projects', labelKey: 'nav.projects', order: 30, permission: 'project.app.read', path: paths.projects },
  routes(router) {
    router.get('/orgs/:orgId/projects', inOrg, async (ctx) => {
      const c = consoleState(ctx);
      const p = listParams(ctx, ['name', 'state', 'createdAt'], 'name');
      const q = typeof ctx.query.q === 'string' ? ctx.query.q.slice(0, 200) : '';
      const page = await orgProjects(c.svc, c.org!.id, { nameContains: q || undefined }, p);
      await renderConsole(ctx, 'projects', { projects: page.rows, q, pager: pager(ctx, page.total, p), sort: (f: string) => sortLink(ctx, f, p) },
        { titleKey: 'projects.title', navKey: 'projects' });
    });

    router.get('/orgs/:orgId/projects/:projectId', inOrg, async (ctx) => {
      const c = consoleState(ctx);
      const { project, roles, apps } = await projectOverview(c.svc, c.org!.id, ctx.params.projectId);
      await renderConsole(ctx, 'project', { project, roles, apps }, { titleKey: 'project.title', titleVars: { name: project.name }, navKey: 'projects' });
    });
  },
};
