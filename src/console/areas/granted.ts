import type { Context } from 'koa';
import { grantedProjectOf, grantedProjectsOf } from '../../domain/project-grant/queries.js';
import { orgUserGrants } from '../../domain/user-grant/queries.js';
import { consoleState, paths } from '../context.js';
import { listParams, pager, sortLink } from '../forms.js';
import type { ConsoleArea } from '../index.js';
import { renderConsole } from '../render.js';
import { inOrg } from './home.js';

/**
 * Granted projects: what other orgs granted to this one, read-only (the owner decides the
 * project, its roles and the granted subset). From here the org's managers give the granted
 * roles to users: the authorizations they made on the project are listed with it.
 */
const grantParams = (ctx: Context) => (ctx as unknown as { params: { grantId: string } }).params;

export const grantedArea: ConsoleArea = {
  nav: { key: 'granted', labelKey: 'nav.granted', order: 35, permission: 'project.grant.read', path: paths.granted },
  routes(router) {
    router.get('/orgs/:orgId/granted', inOrg, async (ctx) => {
      const c = consoleState(ctx);
      const p = listParams(ctx, ['projectName', 'ownerOrgName', 'state'], 'projectName');
      const page = await grantedProjectsOf(c.svc, c.org!.id, p);
      await renderConsole(
        ctx,
        'granted',
        { granted: page.rows, pager: pager(ctx, page.total, p), sort: (f: string) => sortLink(ctx, f, p) },
        { titleKey: 'granted.title', navKey: 'granted' },
      );
    });

    router.get('/orgs/:orgId/granted/:grantId', inOrg, async (ctx) => {
      const c = consoleState(ctx);
      const orgId = c.org!.id;
      const g = await grantedProjectOf(c.svc, orgId, grantParams(ctx).grantId);
      const on = { orgId, projectGrantId: g.projectGrantId };
      const canReadGrants = c.perms.can('user.grant.read', on);
      const p = listParams(ctx, ['createdAt'], 'createdAt');
      const grants = canReadGrants ? await orgUserGrants(c.svc, orgId, { projectId: g.projectId }, p) : undefined;
      await renderConsole(
        ctx,
        'granted-project',
        {
          g,
          grants: grants?.rows,
          pager: grants ? pager(ctx, grants.total, p) : undefined,
          canGive: c.perms.can('user.grant.write', on) && g.state === 'active' && g.projectState === 'active',
        },
        { titleKey: 'granted.projectTitle', titleVars: { name: g.projectName }, navKey: 'granted' },
      );
    });
  },
};
