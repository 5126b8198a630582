/**
 * Every kind of console page a signed-in manager can open with a GET, for the ids of one org's
 * objects: the accessibility walk (test/browser/console-pages.test.ts) checks each, the benchmark
 * (bench/scenarios/console.ts) times each. A new page kind belongs here.
 */
export interface ConsolePageIds {
  orgId: string;
  /** a person of the org with a user grant and a manager role */
  userId: string;
  machineId: string;
  /** a project of the org with a role `reader`, an application and a grant to another org */
  projectId: string;
  appId: string;
  grantId: string;
  /** a manager of the project grant */
  grantMembershipId?: string;
  projectMembershipId?: string;
  /** a project another org granted to this one */
  receivedGrantId: string;
  userGrantId: string;
  /** a manager of the org */
  membershipId: string;
  /** for the explainer: a username of the org and an application's client id */
  explain?: { user: string; clientId: string };
}

export function consolePages(s: ConsolePageIds): [name: string, path: string][] {
  const o = `/ui/console/orgs/${s.orgId}`;
  const p = `${o}/projects/${s.projectId}`;
  const g = `${p}/grants/${s.grantId}`;
  return [
    ['organizations', '/ui/console/orgs'],
    ['org overview', o],
    ['org settings (domains)', `${o}/settings`],
    ['users, first page', `${o}/users`],
    ['users, search by name', `${o}/users?q=Grace`],
    ['users, state filter, sorted by email desc', `${o}/users?state=locked&sort=email&dir=desc`],
    ['users, a late page', `${o}/users?page=400`],
    ['new user form', `${o}/users/new`],
    ['new machine user form', `${o}/users/new?type=machine`],
    ['a user (grants, manager roles)', `${o}/users/${s.userId}`],
    ['a machine user', `${o}/users/${s.machineId}`],
    ['delete a user (what goes)', `${o}/users/${s.userId}/delete`],
    ['projects', `${o}/projects`],
    ['projects, page 10', `${o}/projects?page=10`],
    ['a project', p],
    ['project roles', `${p}/roles`],
    ['edit a role', `${p}/roles/edit?key=reader`],
    ['remove a role (what goes)', `${p}/roles/remove?key=reader`],
    ['project applications', `${p}/apps`],
    ['an application', `${p}/apps/${s.appId}`],
    ['new application form', `${p}/apps/new`],
    ['delete an application', `${p}/apps/${s.appId}/delete`],
    ['project grants', `${p}/grants`],
    ['a project grant', g],
    ['remove a project grant (what goes)', `${g}/remove`],
    ['project grant managers', `${g}/managers`],
    ...(s.grantMembershipId ? ([['a project grant manager', `${g}/managers/${s.grantMembershipId}`]] as [string, string][]) : []),
    ['project managers', `${p}/managers`],
    ...(s.projectMembershipId ? ([['a project manager', `${p}/managers/${s.projectMembershipId}`]] as [string, string][]) : []),
    ['delete a project (what goes)', `${p}/delete`],
    ['received grants', `${o}/granted`],
    ['a received grant', `${o}/granted/${s.receivedGrantId}`],
    ['authorizations (user grants)', `${o}/authorizations`],
    ['an authorization', `${o}/authorizations/${s.userGrantId}`],
    ['new authorization form', `${o}/authorizations/new`],
    ['org managers', `${o}/managers`],
    ['an org manager', `${o}/managers/${s.membershipId}`],
    ['audit trail', `${o}/audit`],
    ['audit trail, filtered by resource', `${o}/audit?resourceType=user&resourceId=${s.userId}`],
    ['policies', `${o}/policies`],
    ...['login', 'password_complexity', 'lockout', 'domain', 'notification'].map((k) => [`policy: ${k}`, `${o}/policies/${k}`] as [string, string]),
    ['login page preview', `${o}/policies/login/preview`],
    ['identity providers', `${o}/idps`],
    ['new identity provider form', `${o}/idps/new`],
    ['branding', `${o}/branding`],
    ['explainer', `${o}/explain`],
    ...(s.explain
      ? ([['explainer, a user and an app', `${o}/explain?user=${encodeURIComponent(s.explain.user)}&clientId=${encodeURIComponent(s.explain.clientId)}`]] as [
          string,
          string,
        ][])
      : []),
  ];
}

/** The instance administrator's pages (instance managers only). */
export function instanceConsolePages(): [name: string, path: string][] {
  return [
    ['instance', '/ui/console/instance'],
    ['instance policies', '/ui/console/instance/policies'],
    ['instance policy: login', '/ui/console/instance/policies/login'],
    ['instance identity providers', '/ui/console/instance/idps'],
    ['new instance identity provider form', '/ui/console/instance/idps/new'],
    ['instance branding', '/ui/console/instance/branding'],
  ];
}
