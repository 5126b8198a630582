import type { Context } from 'koa';
import type { Permission } from '../../authz/index.js';
import type { ProjectRow } from '../../domain/project/queries.js';
import { consoleState, paths } from '../context.js';
import { renderConsole } from '../render.js';

/**
 * What every page of one project shares: the project's own navigation (overview, roles,
 * applications, grants, managers, history), each tab shown only to those who may read it, and
 * the page frame around a tab's view.
 */
export type ProjectTab = 'overview' | 'roles' | 'apps' | 'grants' | 'managers';

const tabs: { key: ProjectTab; labelKey: string; permission: Permission; href: (o: string, p: string) => string }[] = [
  { key: 'overview', labelKey: 'project.tab.overview', permission: 'project.read', href: paths.project },
  { key: 'roles', labelKey: 'project.roles', permission: 'project.role.read', href: paths.projectRoles },
  { key: 'apps', labelKey: 'project.apps', permission: 'project.app.read', href: paths.projectApps },
  { key: 'grants', labelKey: 'project.tab.grants', permission: 'project.grant.read', href: paths.projectGrants },
  { key: 'managers', labelKey: 'project.tab.managers', permission: 'project.member.read', href: paths.projectMembers },
];

export const projectParams = (ctx: Context) => (ctx as unknown as { params: { orgId: string; projectId: string } }).params;

export function projectTabs(ctx: Context, project: ProjectRow, current: ProjectTab) {
  const c = consoleState(ctx);
  const on = { orgId: project.org_id, projectId: project.id };
  const items = tabs
    .filter((t) => c.perms.can(t.permission, on))
    .map((t) => ({ label: c.t(t.labelKey), href: t.href(project.org_id, project.id), current: t.key === current }));
  // The project's history is the org's audit trail, filtered to it.
  if (c.perms.can('org.read', { orgId: project.org_id })) {
    items.push({ label: c.t('project.tab.history'), href: `${paths.audit(project.org_id)}?resourceType=project&resourceId=${project.id}`, current: false });
  }
  return items;
}

/** A page of a project: its heading, its tabs, then the view. */
export async function renderProjectPage(
  ctx: Context,
  view: string,
  project: ProjectRow,
  tab: ProjectTab,
  data: Record<string, unknown>,
  opts: { titleKey: string; titleVars?: Record<string, string>; status?: number } = { titleKey: 'project.title' },
): Promise<void> {
  await renderConsole(
    ctx,
    view,
    { project, tabs: projectTabs(ctx, project, tab), ...data },
    {
      titleKey: opts.titleKey,
      titleVars: { name: project.name, ...opts.titleVars },
      navKey: 'projects',
      status: opts.status,
    },
  );
}
