/**
 * Every write `tessera apply` makes, as calls into the domain services: the CLI never touches
 * a table itself, so the services' rules, permission checks and audit events all apply.
 */
import type { ServiceContext } from '../domain/deps.js';
import * as instances from '../domain/instance/service.js';
import * as orgs from '../domain/org/service.js';
import * as users from '../domain/user/service.js';
import * as policies from '../domain/policy/service.js';
import * as idps from '../domain/idp/service.js';
import * as members from '../domain/membership/service.js';
import * as projects from '../domain/project/service.js';
import * as roles from '../domain/project/roles.js';
import * as apps from '../domain/project/applications.js';
import * as projectGrants from '../domain/project-grant/service.js';
import * as userGrants from '../domain/user-grant/service.js';
import type { PolicyKind } from '../domain/policy/schemas.js';
import type { UserState } from '../domain/user/repository.js';

type Ctx = ServiceContext;
const done = async (p: Promise<unknown>): Promise<void> => {
  await p;
};

/** Messages shown after a successful commit (generated secrets, shown once). */
export const announcements: string[] = [];
export const announce = (message: string): void => {
  announcements.push(message);
};

// ---- instance ----
export interface OidcSettings {
  accessTokenLifetimeS: number;
  idTokenLifetimeS: number;
  refreshTokenIdleS: number;
  refreshTokenAbsoluteS: number;
}
export const renameInstance = (ctx: Ctx, name: string) => done(instances.renameInstance(ctx, name));
export const addInstanceDomain = (ctx: Ctx, domain: string) => done(instances.addInstanceDomain(ctx, domain));
export const setPrimaryInstanceDomain = (ctx: Ctx, domain: string) => done(instances.setPrimaryInstanceDomain(ctx, domain));
export const updateOidcSettings = (ctx: Ctx, patch: Partial<OidcSettings>) => done(instances.updateOidcSettings(ctx, patch));
export const setSmtpSettings = (
  ctx: Ctx,
  s: { host: string; port: number; tls: boolean; user?: string; password?: string; fromAddress: string; fromName: string },
) => done(instances.setSmtpSettings(ctx, s));

// ---- policies ----
export const setInstancePolicy = (ctx: Ctx, kind: PolicyKind, settings: unknown) => done(policies.setInstancePolicy(ctx, kind, settings));
export const setOrgPolicy = (ctx: Ctx, orgId: string, kind: PolicyKind, settings: unknown) => done(policies.setOrgPolicy(ctx, orgId, kind, settings));
export const resetOrgPolicy = (ctx: Ctx, orgId: string, kind: PolicyKind) => done(policies.resetOrgPolicy(ctx, orgId, kind));

// ---- IdPs ----
export type IdpPatch = idps.IdpPatch;
export const createIdp = (ctx: Ctx, input: idps.NewIdp) => done(idps.createIdp(ctx, input));
export const updateIdp = (ctx: Ctx, id: string, patch: IdpPatch) => done(idps.updateIdp(ctx, id, patch));
export const deleteIdp = (ctx: Ctx, id: string) => done(idps.deleteIdp(ctx, id));

// ---- orgs ----
export const createOrg = (ctx: Ctx, input: { id: string; name: string; state?: 'active' | 'inactive' }) => done(orgs.createOrg(ctx, input));
export const deleteOrg = (ctx: Ctx, id: string) => done(orgs.deleteOrg(ctx, id));
export const setOrgState = (ctx: Ctx, id: string, state: 'active' | 'inactive') =>
  done(state === 'active' ? orgs.reactivateOrg(ctx, id) : orgs.deactivateOrg(ctx, id));
export const addOrgDomain = (ctx: Ctx, orgId: string, domain: string, verified: boolean) => done(orgs.addOrgDomain(ctx, orgId, domain, { verified }));
export const verifyOrgDomain = (ctx: Ctx, orgId: string, domain: string) => done(orgs.verifyOrgDomain(ctx, orgId, domain));
export const setPrimaryOrgDomain = (ctx: Ctx, orgId: string, domain: string) => done(orgs.setPrimaryOrgDomain(ctx, orgId, domain));

// ---- users ----
export type UserPatch = users.HumanProfilePatch & users.MachinePatch;
export const createHumanUser = (ctx: Ctx, input: users.NewHumanUser) => done(users.createHumanUser(ctx, input));
export const createMachineUser = (ctx: Ctx, input: users.NewMachineUser) => done(users.createMachineUser(ctx, input));
export const updateUserProfile = (ctx: Ctx, id: string, patch: UserPatch) => done(users.updateUserProfile(ctx, id, patch));
export const setPassword = (ctx: Ctx, id: string, password: string) => done(users.setPassword(ctx, id, password));
export const setMachineSecret = (ctx: Ctx, id: string, secret: string) => done(users.generateMachineSecret(ctx, id, secret));
export const deleteUser = (ctx: Ctx, id: string) => done(users.deleteUser(ctx, id));
export const setUserMetadata = (ctx: Ctx, id: string, key: string, value: string) => done(users.setUserMetadata(ctx, id, key, value));

/** The service call that moves a user from one state to another, if one does. */
export function userStateStep(from: UserState, to: UserState): ((ctx: Ctx, id: string) => Promise<void>) | undefined {
  if (to === 'inactive' && from !== 'inactive') return (ctx, id) => users.deactivateUser(ctx, id);
  if (to === 'locked' && from === 'active') return (ctx, id) => users.lockUser(ctx, id);
  if (to === 'active' && from === 'inactive') return (ctx, id) => users.reactivateUser(ctx, id);
  if (to === 'active' && from === 'locked') return (ctx, id) => users.unlockUser(ctx, id);
  return undefined;
}

// ---- managers ----
export const addMember = (ctx: Ctx, input: members.MemberTarget & { userId: string; roles: string[] }) => done(members.addMember(ctx, input));
export const changeMemberRoles = (ctx: Ctx, id: string, roleNames: string[]) => done(members.changeMemberRoles(ctx, id, roleNames));
export const removeMember = (ctx: Ctx, id: string) => done(members.removeMember(ctx, id));

// ---- projects, roles, apps ----
export const createProject = (ctx: Ctx, input: projects.NewProject) => done(projects.createProject(ctx, input));
export const updateProject = (ctx: Ctx, id: string, patch: projects.ProjectPatch) => done(projects.updateProject(ctx, id, patch));
export const deleteProject = (ctx: Ctx, id: string) => done(projects.deleteProject(ctx, id));
export const setProjectState = (ctx: Ctx, id: string, state: 'active' | 'inactive') =>
  done(state === 'active' ? projects.reactivateProject(ctx, id) : projects.deactivateProject(ctx, id));
export const addProjectRole = (ctx: Ctx, projectId: string, role: roles.NewProjectRole) => done(roles.addProjectRole(ctx, projectId, role));
export const updateProjectRole = (ctx: Ctx, projectId: string, key: string, patch: { displayName?: string; group?: string | null }) =>
  done(roles.updateProjectRole(ctx, projectId, key, patch));
export const removeProjectRole = (ctx: Ctx, projectId: string, key: string) => done(roles.removeProjectRole(ctx, projectId, key));
export const createApplication = (ctx: Ctx, projectId: string, input: apps.NewApplication) => apps.createApplication(ctx, projectId, input);
export const updateApplication = async (ctx: Ctx, id: string, patch: apps.ApplicationSettings) => {
  const { clientSecret } = await apps.updateApplication(ctx, id, patch);
  if (clientSecret) announce(`new client secret of app ${patch.name ?? id}, shown once: ${clientSecret}`);
};
export const setClientSecret = (ctx: Ctx, id: string, secret: string) => done(apps.regenerateClientSecret(ctx, id, secret));
export const deleteApplication = (ctx: Ctx, id: string) => done(apps.deleteApplication(ctx, id));

// ---- grants ----
export const grantProject = (ctx: Ctx, input: projectGrants.NewProjectGrant) => done(projectGrants.grantProject(ctx, input));
export const updateProjectGrantRoles = (ctx: Ctx, id: string, keys: string[]) => done(projectGrants.updateProjectGrantRoles(ctx, id, keys));
export const removeProjectGrant = (ctx: Ctx, id: string) => done(projectGrants.removeProjectGrant(ctx, id));
export const setProjectGrantState = (ctx: Ctx, id: string, state: 'active' | 'inactive') =>
  done(state === 'active' ? projectGrants.reactivateProjectGrant(ctx, id) : projectGrants.deactivateProjectGrant(ctx, id));
export const addUserGrant = (ctx: Ctx, input: userGrants.NewUserGrant) => done(userGrants.addUserGrant(ctx, input));
export const updateUserGrant = (ctx: Ctx, id: string, patch: { roleKeys?: string[]; expiresAt?: Date | null }) =>
  done(userGrants.updateUserGrant(ctx, id, patch));
export const removeUserGrant = (ctx: Ctx, id: string) => done(userGrants.removeUserGrant(ctx, id));
export const setUserGrantState = (ctx: Ctx, id: string, state: 'active' | 'inactive') =>
  done(state === 'active' ? userGrants.reactivateUserGrant(ctx, id) : userGrants.deactivateUserGrant(ctx, id));
