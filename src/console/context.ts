import type { Context } from 'koa';
import type { Permissions } from '../domain/authorization.js';
import type { ServiceContext } from '../domain/deps.js';
import type { OrgRow } from '../domain/org/queries.js';
import type { UiSession } from '../domain/session/service.js';
import type { Locale, Translate } from './i18n.js';
import type { NavEntry } from './nav.js';

/** What every console handler finds on ctx.state.console once the request is signed in. */
export interface ConsoleState {
  session: UiSession;
  /** the service context of the signed-in user: every read and write goes through it */
  svc: ServiceContext;
  perms: Permissions;
  locale: Locale;
  t: Translate;
  csrf: string;
  me: { userId: string; name: string };
  /** the org in context, on pages under /ui/console/orgs/:orgId */
  org?: OrgRow;
  orgChoices: { id: string; name: string }[];
  branding: { themeUrl?: string; logoUrl?: string; iconUrl?: string; name: string };
  navEntries: NavEntry[];
  paths: typeof paths;
  /** stores small choices (flash message, org in context) on the session */
  setData(patch: Record<string, unknown>): Promise<void>;
}

/** The console's URLs in one place, so views and handlers agree. */
export const paths = {
  home: '/ui/console',
  orgs: '/ui/console/orgs',
  org: (orgId: string) => `/ui/console/orgs/${orgId}`,
  orgSettings: (orgId: string) => `/ui/console/orgs/${orgId}/settings`,
  users: (orgId: string) => `/ui/console/orgs/${orgId}/users`,
  user: (orgId: string, userId: string) => `/ui/console/orgs/${orgId}/users/${userId}`,
  projects: (orgId: string) => `/ui/console/orgs/${orgId}/projects`,
  project: (orgId: string, projectId: string) => `/ui/console/orgs/${orgId}/projects/${projectId}`,
  projectRoles: (orgId: string, projectId: string) => `/ui/console/orgs/${orgId}/projects/${projectId}/roles`,
  projectApps: (orgId: string, projectId: string) => `/ui/console/orgs/${orgId}/projects/${projectId}/apps`,
  projectApp: (orgId: string, projectId: string, appId: string) => `/ui/console/orgs/${orgId}/projects/${projectId}/apps/${appId}`,
  projectGrants: (orgId: string, projectId: string) => `/ui/console/orgs/${orgId}/projects/${projectId}/grants`,
  projectGrant: (orgId: string, projectId: string, grantId: string) => `/ui/console/orgs/${orgId}/projects/${projectId}/grants/${grantId}`,
  projectMembers: (orgId: string, projectId: string) => `/ui/console/orgs/${orgId}/projects/${projectId}/managers`,
  granted: (orgId: string) => `/ui/console/orgs/${orgId}/granted`,
  grantedProject: (orgId: string, grantId: string) => `/ui/console/orgs/${orgId}/granted/${grantId}`,
  userGrants: (orgId: string) => `/ui/console/orgs/${orgId}/authorizations`,
  userGrant: (orgId: string, id: string) => `/ui/console/orgs/${orgId}/authorizations/${id}`,
  orgMembers: (orgId: string) => `/ui/console/orgs/${orgId}/managers`,
  audit: (orgId: string) => `/ui/console/orgs/${orgId}/audit`,
  explain: (orgId: string) => `/ui/console/orgs/${orgId}/explain`,
  policies: (orgId: string) => `/ui/console/orgs/${orgId}/policies`,
  idps: (orgId: string) => `/ui/console/orgs/${orgId}/idps`,
  branding: (orgId: string) => `/ui/console/orgs/${orgId}/branding`,
  instance: '/ui/console/instance',
  instancePolicies: '/ui/console/instance/policies',
  instanceIdps: '/ui/console/instance/idps',
  instanceBranding: '/ui/console/instance/branding',
  instanceSettings: '/ui/console/instance/settings',
  instanceDomains: '/ui/console/instance/domains',
  instanceOrgs: '/ui/console/instance/orgs',
  instanceManagers: '/ui/console/instance/managers',
};

export const consoleState = (ctx: Context): ConsoleState => ctx.state.console as ConsoleState;

/** A message for the next page (post, redirect, get). */
export async function flash(ctx: Context, kind: 'ok' | 'error', text: string): Promise<void> {
  await consoleState(ctx).setData({ flash: { kind, text } });
}
