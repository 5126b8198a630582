import type { Permission } from '../authz/index.js';
import type { ConsoleState } from './context.js';

/**
 * The navigation of an org's pages. Each area declares its entry with the permission it needs
 * somewhere in the org (on the org itself, or on a project or grant in it); an entry the caller
 * cannot use is not shown. The list of areas is in src/console/index.ts.
 */
export interface NavEntry {
  key: string;
  labelKey: string;
  order: number;
  /** '' for everyone in the org; a list: any one of them will do */
  permission: Permission | readonly Permission[] | '';
  path: (orgId: string) => string;
}

/** May the caller use this entry in this org? */
export function navAllows(c: ConsoleState, e: NavEntry, orgId: string): boolean {
  if (!e.permission) return true;
  const any = typeof e.permission === 'string' ? [e.permission] : e.permission;
  return any.some((p) => c.perms.canSomewhereIn(p, orgId));
}

export interface NavItem {
  key: string;
  label: string;
  href: string;
  current: boolean;
}

export function navFor(c: ConsoleState, currentKey?: string): NavItem[] {
  const orgId = c.org?.id;
  const items: NavItem[] = [{ key: 'orgs', label: c.t('nav.orgs'), href: '/ui/console/orgs', current: currentKey === 'orgs' }];
  if (!orgId) return items;
  for (const e of [...c.navEntries].sort((a, b) => a.order - b.order)) {
    if (!navAllows(c, e, orgId)) continue;
    items.push({ key: e.key, label: c.t(e.labelKey), href: e.path(orgId), current: e.key === currentKey });
  }
  return items;
}
