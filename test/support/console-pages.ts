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

/** Ids of instance-level objects for the instance administrator's pages that show one. */
export interface InstancePageIds {
  /** an org to show the deletion confirmation of (the bigger, the more it counts) */
  orgId?: string;
  /** an instance manager's membership */
  membershipId?: string;
  /** an instance IdP */
  idpId?: string;
}

/** The instance administrator's pages (instance managers only); those showing one object when its id is given. */
export function instanceConsolePages(s: InstancePageIds = {}): [name: string, path: string][] {
  const i = '/ui/console/instance';
  const some = (cond: unknown, rows: [string, string][]) => (cond ? rows : []);
  return [
    ['instance', i],
    ['instance settings (name, token lifetimes, SMTP)', `${i}/settings`],
    ['instance domains', `${i}/domains`],
    ['all organizations', `${i}/orgs`],
    ['all organizations, search by name', `${i}/orgs?q=Tenant%2007`],
    ['all organizations, a late page sorted by creation desc', `${i}/orgs?page=40&sort=createdAt&dir=desc`],
    ...some(s.orgId, [['delete an organization (what goes)', `${i}/orgs/${s.orgId}/delete`]]),
    ['instance managers', `${i}/managers`],
    ...some(s.membershipId, [['an instance manager', `${i}/managers/${s.membershipId}`]]),
    ['instance policies', `${i}/policies`],
    ...['login', 'password_complexity', 'lockout', 'domain', 'notification'].map((k) => [`instance policy: ${k}`, `${i}/policies/${k}`] as [string, string]),
    ['instance login page preview', `${i}/policies/login/preview`],
    ['instance identity providers', `${i}/idps`],
    ['new instance identity provider form', `${i}/idps/new`],
    ...some(s.idpId, [['an instance identity provider', `${i}/idps/${s.idpId}`]]),
    ['instance branding', `${i}/branding`],
  ];
}
