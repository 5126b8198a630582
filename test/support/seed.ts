import type { Runtime } from '../../src/runtime/index.js';
import type { ServiceContext } from '../../src/domain/deps.js';
import { systemPrincipal } from '../../src/domain/principal.js';
import { createOrg } from '../../src/domain/org/service.js';
import { primaryOrgDomain } from '../../src/domain/org/repository.js';
import { createHumanUser } from '../../src/domain/user/service.js';
import { createProject } from '../../src/domain/project/service.js';
import { addProjectRoles } from '../../src/domain/project/roles.js';
import { createApplication } from '../../src/domain/project/applications.js';
import { grantProject } from '../../src/domain/project-grant/service.js';
import { addUserGrant } from '../../src/domain/user-grant/service.js';
import type { TestInstance } from './runtime.js';

/** The password every seeded user has. */
export const SEED_PASSWORD = 'Seed-Passw0rd!';
/** The redirect URI of every seeded application. */
export const SEED_REDIRECT_URI = 'http://localhost/cb';

export interface SeedOrg {
  id: string;
  name: string;
  /** its generated primary domain */ domain: string;
}
export interface SeedUser {
  id: string;
  orgId: string;
  username: string;
  /** username@{org primary domain} */ loginName: string;
  password: string;
}
export interface SeedApp {
  id: string;
  clientId: string;
  redirectUri: string;
}
export interface SeedProject {
  id: string;
  orgId: string;
  name: string;
  roleKeys: string[];
  app: SeedApp;
}

/** Ids of everything seedScenario built. Stable: fields are only ever added. */
export interface SeedScenario {
  /** A system-principal context on the instance, for further setup in tests. */
  ctx: ServiceContext;
  orgs: { acme: SeedOrg; alpha: SeedOrg; beta: SeedOrg; demoVendor: SeedOrg; demoCustomer: SeedOrg };
  users: { bob: SeedUser; alice: SeedUser; eric: SeedUser };
  projects: { timeTracking: SeedProject; portal: SeedProject };
  projectGrants: { timeTrackingToAlpha: string; timeTrackingToBeta: string; portalToDemoCustomer: string };
  userGrants: {
    /** Beta gives its own Bob: Developer on Time Tracking. */
    bobDeveloper: string;
    /** Beta gives Alice (of Alpha): Accountant on Time Tracking. */
    aliceAccountant: string;
    /** Demo-Customer gives its Eric: reader on Portal. */
    ericReader: string;
  };
}

/**
 * Builds the README scenario through the services:
 * ACME owns "Time Tracking" (Accountant, Developer), granted to Alpha and Beta with both roles;
 * Beta gives its Bob Developer and Alice of Alpha Accountant. Demo-Vendor owns "Portal"
 * (reader, admin, support:read, support:write), granted to Demo-Customer with reader and admin;
 * Demo-Customer gives its Eric reader. Every project has a public web app (PKCE,
 * redirect http://localhost/cb).
 */
export async function seedScenario(rt: Runtime, instance: TestInstance): Promise<SeedScenario> {
  const ctx: ServiceContext = { deps: rt.deps, scope: instance.scope, actor: systemPrincipal };

  const org = async (name: string): Promise<SeedOrg> => {
    const { id } = await createOrg(ctx, { name });
    return { id, name, domain: (await primaryOrgDomain(ctx.scope, id))! };
  };
  const acme = await org('ACME');
  const alpha = await org('Alpha');
  const beta = await org('Beta');
  const demoVendor = await org('Demo-Vendor');
  const demoCustomer = await org('Demo-Customer');

  const user = async (o: SeedOrg, username: string, givenName: string): Promise<SeedUser> => {
    const { id } = await createHumanUser(ctx, {
      orgId: o.id,
      username,
      email: `${username}@${o.domain}`,
      emailVerified: true,
      givenName,
      familyName: o.name,
      password: SEED_PASSWORD,
    });
    return { id, orgId: o.id, username, loginName: `${username}@${o.domain}`, password: SEED_PASSWORD };
  };
  const bob = await user(beta, 'bob', 'Bob');
  const alice = await user(alpha, 'alice', 'Alice');
  const eric = await user(demoCustomer, 'eric', 'Eric');

  const project = async (owner: SeedOrg, name: string, roleKeys: string[]): Promise<SeedProject> => {
    const { id } = await createProject(ctx, { orgId: owner.id, name });
    await addProjectRoles(
      ctx,
      id,
      roleKeys.map((key) => ({ key, displayName: key })),
    );
    const app = await createApplication(ctx, id, {
      name: `${name} Web`,
      appType: 'web',
      authMethod: 'none',
      redirectUris: [SEED_REDIRECT_URI],
      postLogoutRedirectUris: ['http://localhost/'],
      grantTypes: ['authorization_code', 'refresh_token'],
    });
    return { id, orgId: owner.id, name, roleKeys, app: { id: app.id, clientId: app.clientId, redirectUri: SEED_REDIRECT_URI } };
  };
  const timeTracking = await project(acme, 'Time Tracking', ['Accountant', 'Developer']);
  const portal = await project(demoVendor, 'Portal', ['reader', 'admin', 'support:read', 'support:write']);

  const grant = async (p: SeedProject, o: SeedOrg, roleKeys: string[]) => (await grantProject(ctx, { projectId: p.id, grantedOrgId: o.id, roleKeys })).id;
  const timeTrackingToAlpha = await grant(timeTracking, alpha, ['Accountant', 'Developer']);
  const timeTrackingToBeta = await grant(timeTracking, beta, ['Accountant', 'Developer']);
  const portalToDemoCustomer = await grant(portal, demoCustomer, ['reader', 'admin']);

  const give = async (u: SeedUser, p: SeedProject, giver: SeedOrg, roleKeys: string[]) =>
    (await addUserGrant(ctx, { userId: u.id, projectId: p.id, orgId: giver.id, roleKeys })).id;
  const bobDeveloper = await give(bob, timeTracking, beta, ['Developer']);
  const aliceAccountant = await give(alice, timeTracking, beta, ['Accountant']);
  const ericReader = await give(eric, portal, demoCustomer, ['reader']);

  return {
    ctx,
    orgs: { acme, alpha, beta, demoVendor, demoCustomer },
    users: { bob, alice, eric },
    projects: { timeTracking, portal },
    projectGrants: { timeTrackingToAlpha, timeTrackingToBeta, portalToDemoCustomer },
    userGrants: { bobDeveloper, aliceAccountant, ericReader },
  };
}

/**
 * Every access-model row of the instance and the number of audit events: compare a snapshot
 * taken before a refused write with one taken after to prove that nothing changed.
 */
export async function accessSnapshot(scope: TestInstance['scope']): Promise<Record<string, unknown>> {
  const all = (table: string) => scope.table(table).select('*').orderByRaw('1, 2, 3');
  return {
    projects: await all('projects'),
    projectRoles: await all('project_roles'),
    applications: await all('applications'),
    projectGrants: await all('project_grants'),
    userGrants: await all('user_grants'),
    memberships: await all('memberships'),
    auditEvents: Number((await scope.table('audit_events').count({ n: '*' }).first())?.n),
  };
}
