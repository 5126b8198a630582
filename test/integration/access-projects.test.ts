import type { Runtime } from '../../src/runtime/index.js';
import type { ServiceContext } from '../../src/domain/deps.js';
import { systemPrincipal } from '../../src/domain/principal.js';
import { testInstance, testRuntime, type TestInstance } from '../support/runtime.js';
import { accessSnapshot, seedScenario } from '../support/seed.js';
import { eventually } from '../support/eventually.js';
import { createOrg } from '../../src/domain/org/service.js';
import {
  createProject,
  deactivateProject,
  deleteProject,
  getProject,
  listProjects,
  reactivateProject,
  updateProject,
} from '../../src/domain/project/service.js';
import { addProjectRole, listProjectRoles, removeProjectRole, updateProjectRole } from '../../src/domain/project/roles.js';
import {
  createApplication,
  deleteApplication,
  findApplicationByClientId,
  listApplications,
  regenerateClientSecret,
  updateApplication,
  verifyClientSecret,
} from '../../src/domain/project/applications.js';
import { listEvents } from '../../src/domain/audit/repository.js';
import { addUserGrant, getUserGrant } from '../../src/domain/user-grant/service.js';
import { getProjectGrant } from '../../src/domain/project-grant/service.js';

let rt: Runtime;
const published: string[] = [];
beforeAll(async () => {
  rt = await testRuntime();
  rt.deps.changes.subscribe((id) => published.push(id));
});
afterAll(async () => {
  await rt.close();
});

async function setup(): Promise<{ inst: TestInstance; ctx: ServiceContext; orgId: string; projectId: string }> {
  const inst = await testInstance(rt, 'Projects');
  const ctx: ServiceContext = { deps: rt.deps, scope: inst.scope, actor: systemPrincipal };
  const { id: orgId } = await createOrg(ctx, { name: 'Vendor' });
  const { id: projectId } = await createProject(ctx, { orgId, name: 'Time Tracking' });
  return { inst, ctx, orgId, projectId };
}

/** Resolves once a change notice for the instance has arrived (Redis pub/sub is asynchronous). */
async function noticeFor(instanceId: string, since: number): Promise<boolean> {
  return eventually(
    async () => published.slice(since).includes(instanceId),
    (seen) => seen,
  );
}

describe('projects', () => {
  test('a project is created with its settings and an audit event', async () => {
    const { ctx, orgId } = await setup();
    const { id } = await createProject(ctx, {
      orgId,
      name: 'Portal',
      projectRoleAssertion: true,
      hasProjectCheck: true,
      privateLabelingSetting: 'enforce_project_resource_owner_policy',
    });
    expect(await getProject(ctx.scope, id)).toMatchObject({
      org_id: orgId,
      name: 'Portal',
      state: 'active',
      project_role_assertion: true,
      project_role_check: false,
      has_project_check: true,
      private_labeling_setting: 'enforce_project_resource_owner_policy',
    });
    expect(await listEvents(ctx.scope, { resourceType: 'project', resourceId: id })).toEqual([
      expect.objectContaining({ type: 'project.added', org_id: orgId, actor_type: 'system' }),
    ]);
    expect((await listProjects(ctx.scope, { orgId })).map((p) => p.name)).toEqual(['Portal', 'Time Tracking']);
  });

  test('a project name is unique within its org only', async () => {
    const { ctx, orgId } = await setup();
    const before = await accessSnapshot(ctx.scope);
    await expect(createProject(ctx, { orgId, name: 'Time Tracking' })).rejects.toMatchObject({ reason: 'project.name_taken' });
    expect(await accessSnapshot(ctx.scope)).toEqual(before);
    const { id: other } = await createOrg(ctx, { name: 'Other' });
    await expect(createProject(ctx, { orgId: other, name: 'Time Tracking' })).resolves.toHaveProperty('id');
  });

  test('a project needs an existing org and a sane name', async () => {
    const { ctx } = await setup();
    await expect(createProject(ctx, { orgId: 'no-such-org', name: 'X' })).rejects.toMatchObject({ reason: 'org.not_found' });
    const { orgId } = await setup();
    await expect(createProject(ctx, { orgId, name: '   ' })).rejects.toMatchObject({ code: 'invalid_input' });
  });

  test('changing settings is stored, audited and announced to the OIDC caches', async () => {
    const { inst, ctx, projectId } = await setup();
    const mark = published.length;
    await updateProject(ctx, projectId, { projectRoleCheck: true, name: 'Timesheets' });
    expect(await getProject(ctx.scope, projectId)).toMatchObject({ name: 'Timesheets', project_role_check: true, version: 2 });
    expect(await noticeFor(inst.instanceId, mark)).toBe(true);
    expect((await listEvents(ctx.scope, { resourceId: projectId })).map((e) => e.type)).toEqual(['project.added', 'project.changed']);
  });

  test('deactivation is refused twice; the project stays stored', async () => {
    const { ctx, projectId } = await setup();
    await deactivateProject(ctx, projectId);
    await expect(deactivateProject(ctx, projectId)).rejects.toMatchObject({ reason: 'project.not_active' });
    expect(await getProject(ctx.scope, projectId)).toMatchObject({ state: 'inactive' });
    await reactivateProject(ctx, projectId);
    await expect(reactivateProject(ctx, projectId)).rejects.toMatchObject({ reason: 'project.already_active' });
  });

  test('deleting a project removes its roles, apps, grants and user grants but keeps the audit trail', async () => {
    const inst = await testInstance(rt, 'Delete');
    const s = await seedScenario(rt, inst);
    const tt = s.projects.timeTracking.id;
    await deleteProject(s.ctx, tt);
    const { scope } = s.ctx;
    for (const table of ['project_roles', 'applications', 'project_grants', 'user_grants']) {
      expect(await scope.table(table).where({ project_id: tt })).toEqual([]);
    }
    expect(await findApplicationByClientId(scope, s.projects.timeTracking.app.clientId)).toBeUndefined();
    expect(await getUserGrant(scope, s.userGrants.ericReader)).toBeDefined(); // Portal is untouched
    expect((await listEvents(scope, { resourceId: tt })).map((e) => e.type)).toEqual([
      'project.added',
      'project.role.added',
      'project.role.added',
      'project.removed',
    ]);
  });
});

describe('project roles', () => {
  test('a role key is unique in its project; a refused add changes nothing', async () => {
    const { ctx, orgId, projectId } = await setup();
    await addProjectRole(ctx, projectId, { key: 'admin', displayName: 'Administrator', group: 'ops' });
    const before = await accessSnapshot(ctx.scope);
    await expect(addProjectRole(ctx, projectId, { key: 'admin', displayName: 'Again' })).rejects.toMatchObject({
      reason: 'project_role.key_taken',
      code: 'already_exists',
    });
    expect(await accessSnapshot(ctx.scope)).toEqual(before);
    const { id: other } = await createProject(ctx, { orgId, name: 'Other' });
    await addProjectRole(ctx, other, { key: 'admin', displayName: 'Administrator' });
    expect(await listProjectRoles(ctx.scope, projectId)).toEqual([expect.objectContaining({ key: 'admin', display_name: 'Administrator', group: 'ops' })]);
  });

  test('role keys carry no whitespace', async () => {
    const { ctx, projectId } = await setup();
    await expect(addProjectRole(ctx, projectId, { key: 'two words', displayName: 'x' })).rejects.toMatchObject({ code: 'invalid_input' });
    await expect(addProjectRole(ctx, projectId, { key: 'support:read', displayName: 'Support (read)' })).resolves.toBeUndefined();
  });

  test('a role can be renamed and regrouped', async () => {
    const { ctx, projectId } = await setup();
    await addProjectRole(ctx, projectId, { key: 'dev', displayName: 'Dev' });
    await updateProjectRole(ctx, projectId, 'dev', { displayName: 'Developer', group: 'engineering' });
    expect(await listProjectRoles(ctx.scope, projectId)).toEqual([expect.objectContaining({ key: 'dev', display_name: 'Developer', group: 'engineering' })]);
    await expect(updateProjectRole(ctx, projectId, 'nope', { displayName: 'x' })).rejects.toMatchObject({ code: 'not_found' });
  });

  test('removing a role removes it from every project grant and user grant of the project, and only there', async () => {
    const inst = await testInstance(rt, 'RoleCascade');
    const s = await seedScenario(rt, inst);
    const { ctx } = s;
    const tt = s.projects.timeTracking;
    const own = await addUserGrant(ctx, { userId: s.users.bob.id, projectId: tt.id, orgId: s.orgs.acme.id, roleKeys: ['Accountant', 'Developer'] });
    await removeProjectRole(ctx, tt.id, 'Developer');
    expect((await listProjectRoles(ctx.scope, tt.id)).map((r) => r.key)).toEqual(['Accountant']);
    expect((await getProjectGrant(ctx.scope, s.projectGrants.timeTrackingToAlpha))!.role_keys).toEqual(['Accountant']);
    expect((await getProjectGrant(ctx.scope, s.projectGrants.timeTrackingToBeta))!.role_keys).toEqual(['Accountant']);
    expect((await getUserGrant(ctx.scope, s.userGrants.bobDeveloper))!.role_keys).toEqual([]);
    expect((await getUserGrant(ctx.scope, s.userGrants.aliceAccountant))!.role_keys).toEqual(['Accountant']);
    expect((await getUserGrant(ctx.scope, own.id))!.role_keys).toEqual(['Accountant']);
    expect((await getUserGrant(ctx.scope, s.userGrants.ericReader))!.role_keys).toEqual(['reader']);
    expect(await listEvents(ctx.scope, { type: 'project.role.removed' })).toEqual([
      expect.objectContaining({ resource_id: tt.id, payload: { key: 'Developer', projectGrantsChanged: 2, userGrantsChanged: 2 } }),
    ]);
    await expect(removeProjectRole(ctx, tt.id, 'Developer')).rejects.toMatchObject({ code: 'not_found' });
  });
});

describe('applications', () => {
  test('a confidential web app gets a generated client id and a secret shown once and stored as argon2id', async () => {
    const { ctx, projectId } = await setup();
    const app = await createApplication(ctx, projectId, {
      name: 'Web',
      appType: 'web',
      authMethod: 'client_secret_basic',
      redirectUris: ['https://app.example.com/cb'],
    });
    expect(app.clientId).toBe(`${app.id}@time-tracking`);
    expect(app.clientSecret).toMatch(/^[A-Za-z0-9_-]{40,}$/);
    const row = (await findApplicationByClientId(ctx.scope, app.clientId))!;
    expect(row.client_secret_hash).toMatch(/^\$argon2id\$/);
    expect(JSON.stringify(row)).not.toContain(app.clientSecret);
    expect(row).toMatchObject({ grant_types: ['authorization_code'], response_types: ['code'], redirect_uris: ['https://app.example.com/cb'] });
    expect(await verifyClientSecret(rt.deps.hasher, row, app.clientSecret!)).toBe(true);
    expect(await verifyClientSecret(rt.deps.hasher, row, 'wrong')).toBe(false);
    const [event] = await listEvents(ctx.scope, { type: 'project.application.added' });
    expect(JSON.stringify(event.payload)).not.toContain(app.clientSecret);
  });

  test('a public PKCE app has no secret and refuses one', async () => {
    const { ctx, projectId } = await setup();
    const app = await createApplication(ctx, projectId, { name: 'SPA', appType: 'user_agent', authMethod: 'none', redirectUris: ['http://localhost:3000/cb'] });
    expect(app.clientSecret).toBeUndefined();
    expect((await findApplicationByClientId(ctx.scope, app.clientId))!.client_secret_hash).toBeNull();
    await expect(
      createApplication(ctx, projectId, {
        name: 'SPA2',
        appType: 'web',
        authMethod: 'none',
        clientSecret: 'x'.repeat(20),
        redirectUris: ['https://a.example/cb'],
      }),
    ).rejects.toMatchObject({ code: 'invalid_input' });
    await expect(
      createApplication(ctx, projectId, { name: 'SPA3', appType: 'user_agent', authMethod: 'client_secret_basic', redirectUris: ['https://a.example/cb'] }),
    ).rejects.toMatchObject({ reason: 'application.auth_method_not_allowed' });
  });

  test('a fixed client id is unique in the instance, not across instances', async () => {
    const a = await setup();
    const app = await createApplication(a.ctx, a.projectId, {
      name: 'Fixed',
      appType: 'web',
      authMethod: 'client_secret_post',
      clientId: 'time-web',
      clientSecret: 'a-long-enough-secret-123',
      redirectUris: ['https://t.example/cb'],
    });
    expect(app).toMatchObject({ clientId: 'time-web', clientSecret: 'a-long-enough-secret-123' });
    const { id: other } = await createProject(a.ctx, { orgId: a.orgId, name: 'Other' });
    const before = await accessSnapshot(a.ctx.scope);
    await expect(
      createApplication(a.ctx, other, { name: 'Dup', appType: 'web', authMethod: 'none', clientId: 'time-web', redirectUris: ['https://t.example/cb'] }),
    ).rejects.toMatchObject({ reason: 'application.client_id_taken' });
    expect(await accessSnapshot(a.ctx.scope)).toEqual(before);
    const b = await setup();
    await expect(
      createApplication(b.ctx, b.projectId, {
        name: 'Same id elsewhere',
        appType: 'web',
        authMethod: 'none',
        clientId: 'time-web',
        redirectUris: ['https://t.example/cb'],
      }),
    ).resolves.toMatchObject({ clientId: 'time-web' });
  });

  test.each([
    ['a relative URI', { appType: 'web', redirectUris: ['/cb'] }, 'application.redirect_uri_invalid'],
    ['a fragment', { appType: 'web', redirectUris: ['https://a.example/cb#x'] }, 'application.redirect_uri_invalid'],
    ['plain http on a public host', { appType: 'web', redirectUris: ['http://a.example/cb'] }, 'application.redirect_uri_insecure'],
    ['a custom scheme on a web app', { appType: 'web', redirectUris: ['com.example.app:/cb'] }, 'application.redirect_uri_invalid'],
    ['javascript:', { appType: 'native', redirectUris: ['javascript:alert(1)'] }, 'application.redirect_uri_invalid'],
    [
      'http post-logout URI on a public host',
      { appType: 'web', redirectUris: ['https://a.example/cb'], postLogoutRedirectUris: ['http://a.example/'] },
      'application.redirect_uri_insecure',
    ],
    ['no redirect URI for the code flow', { appType: 'web', redirectUris: [] }, 'application.redirect_uri_missing'],
    ['the implicit grant', { appType: 'web', redirectUris: ['https://a.example/cb'], grantTypes: ['implicit'] }, 'application.grant_type_not_allowed'],
    ['the password grant', { appType: 'web', redirectUris: ['https://a.example/cb'], grantTypes: ['password'] }, 'application.grant_type_not_allowed'],
  ] as const)('refuses %s', async (_what, settings, reason) => {
    const { ctx, projectId } = await setup();
    const before = await accessSnapshot(ctx.scope);
    await expect(createApplication(ctx, projectId, { name: 'Bad', authMethod: 'none', ...settings } as any)).rejects.toMatchObject({ reason });
    expect(await accessSnapshot(ctx.scope)).toEqual(before);
  });

  test('allows http on loopback, in dev mode and for native apps, and custom schemes for native apps', async () => {
    const { ctx, projectId } = await setup();
    const ok = (name: string, s: object) => createApplication(ctx, projectId, { name, authMethod: 'none', appType: 'web', ...s });
    await expect(ok('loopback', { redirectUris: ['http://127.0.0.1:8080/cb', 'http://localhost/cb'] })).resolves.toBeDefined();
    await expect(ok('dev', { devMode: true, redirectUris: ['http://dev.example/cb'] })).resolves.toBeDefined();
    await expect(ok('native', { appType: 'native', redirectUris: ['http://app.example/cb', 'com.example.app:/oauth'] })).resolves.toBeDefined();
  });

  test('an API app authenticates with basic or private_key_jwt and has no grant types', async () => {
    const { ctx, projectId } = await setup();
    const api = await createApplication(ctx, projectId, { name: 'API', appType: 'api', authMethod: 'client_secret_basic' });
    expect(await findApplicationByClientId(ctx.scope, api.clientId)).toMatchObject({ grant_types: [], response_types: [], redirect_uris: [] });
    await expect(createApplication(ctx, projectId, { name: 'API2', appType: 'api', authMethod: 'none' })).rejects.toMatchObject({
      reason: 'application.auth_method_not_allowed',
    });
    const jwks = { keys: [{ kty: 'EC', crv: 'P-256', x: 'f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU', y: 'x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0' }] };
    const pkj = await createApplication(ctx, projectId, { name: 'API3', appType: 'api', authMethod: 'private_key_jwt', jwks });
    expect(pkj.clientSecret).toBeUndefined();
    expect((await findApplicationByClientId(ctx.scope, pkj.clientId))!.jwks).toEqual(jwks);
    await expect(
      createApplication(ctx, projectId, { name: 'API4', appType: 'api', authMethod: 'private_key_jwt', jwks: { keys: [{ kty: 'EC', d: 'secret' }] } }),
    ).rejects.toMatchObject({ code: 'invalid_input' });
  });

  test('switching auth methods generates or drops the secret; regeneration replaces it', async () => {
    const { inst, ctx, projectId } = await setup();
    const app = await createApplication(ctx, projectId, { name: 'Web', appType: 'web', authMethod: 'none', redirectUris: ['https://a.example/cb'] });
    const mark = published.length;
    const { clientSecret } = await updateApplication(ctx, app.id, { authMethod: 'client_secret_post', accessTokenType: 'opaque', idTokenRoleAssertion: true });
    expect(clientSecret).toBeDefined();
    expect(await noticeFor(inst.instanceId, mark)).toBe(true);
    let row = (await findApplicationByClientId(ctx.scope, app.clientId))!;
    expect(row).toMatchObject({ auth_method: 'client_secret_post', access_token_type: 'opaque', id_token_role_assertion: true, version: 2 });
    expect(await verifyClientSecret(rt.deps.hasher, row, clientSecret!)).toBe(true);

    const again = await regenerateClientSecret(ctx, app.id);
    row = (await findApplicationByClientId(ctx.scope, app.clientId))!;
    expect(await verifyClientSecret(rt.deps.hasher, row, clientSecret!)).toBe(false);
    expect(await verifyClientSecret(rt.deps.hasher, row, again.clientSecret)).toBe(true);

    // Configuration as code sets a chosen secret instead.
    await regenerateClientSecret(ctx, app.id, 'chosen-secret-from-env-0123');
    row = (await findApplicationByClientId(ctx.scope, app.clientId))!;
    expect(await verifyClientSecret(rt.deps.hasher, row, 'chosen-secret-from-env-0123')).toBe(true);
    await expect(regenerateClientSecret(ctx, app.id, 'short')).rejects.toMatchObject({ code: 'invalid_input' });

    await updateApplication(ctx, app.id, { authMethod: 'none' });
    expect((await findApplicationByClientId(ctx.scope, app.clientId))!.client_secret_hash).toBeNull();
    await expect(regenerateClientSecret(ctx, app.id)).rejects.toMatchObject({ reason: 'application.no_secret' });
    await expect(updateApplication(ctx, app.id, { redirectUris: ['http://public.example/cb'] })).rejects.toMatchObject({
      reason: 'application.redirect_uri_insecure',
    });
  });

  test('a deleted app is gone and announced', async () => {
    const { inst, ctx, projectId } = await setup();
    const app = await createApplication(ctx, projectId, { name: 'Web', appType: 'web', authMethod: 'none', redirectUris: ['https://a.example/cb'] });
    const mark = published.length;
    await deleteApplication(ctx, app.id);
    expect(await noticeFor(inst.instanceId, mark)).toBe(true);
    expect(await findApplicationByClientId(ctx.scope, app.clientId)).toBeUndefined();
    expect(await listApplications(ctx.scope, projectId)).toEqual([]);
    await expect(deleteApplication(ctx, app.id)).rejects.toMatchObject({ code: 'not_found' });
  });
});
