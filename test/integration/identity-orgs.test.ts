import { testInstance, testRuntime, type TestInstance } from '../support/runtime.js';
import type { Runtime } from '../../src/runtime/index.js';
import {
  addOrgDomain,
  createOrg,
  deactivateOrg,
  deleteOrg,
  reactivateOrg,
  removeOrgDomain,
  renameOrg,
  setPrimaryOrgDomain,
  verifyOrgDomain,
} from '../../src/domain/org/service.js';
import { findOrgByVerifiedDomain, getOrg, listOrgDomains } from '../../src/domain/org/repository.js';
import { createHumanUser } from '../../src/domain/user/service.js';
import { getUser } from '../../src/domain/user/repository.js';
import { addMember } from '../../src/domain/membership/service.js';
import { createProject } from '../../src/domain/project/service.js';
import { addProjectRoles } from '../../src/domain/project/roles.js';
import { grantProject } from '../../src/domain/project-grant/service.js';
import { addUserGrant } from '../../src/domain/user-grant/service.js';
import { contexts, lastEvent, snapshot } from './identity-support.js';

let rt: Runtime;
beforeAll(async () => {
  rt = await testRuntime();
});
afterAll(async () => {
  await rt.close();
});

let inst: TestInstance;
let c: ReturnType<typeof contexts>;
beforeEach(async () => {
  inst = await testInstance(rt, 'Orgs');
  c = contexts(rt, inst);
});

test('a new org gets the generated, verified, primary domain {org-slug}.{instance primary domain}', async () => {
  const { id } = await createOrg(c.system(), { name: 'Ünïcode & Co' });
  expect(await listOrgDomains(inst.scope, id)).toEqual([
    expect.objectContaining({ domain: `unicode-co.${inst.domain}`, is_verified: true, is_primary: true, is_generated: true }),
  ]);
  expect((await getOrg(inst.scope, id))?.state).toBe('active');
});

test('an org name is unique in its instance, not across instances', async () => {
  await createOrg(c.system(), { name: 'Alpha' });
  await expect(createOrg(c.system(), { name: 'Alpha' })).rejects.toMatchObject({ code: 'already_exists', reason: 'org.name_taken' });
  const other = await testInstance(rt, 'Other');
  await expect(createOrg(contexts(rt, other).system(), { name: 'Alpha' })).resolves.toHaveProperty('id');
});

test('deleting an org removes its users, projects, the grants it gave and the grants it received', async () => {
  const sys = c.system();
  const vendor = (await createOrg(sys, { name: 'Vendor' })).id;
  const customer = (await createOrg(sys, { name: 'Customer' })).id;
  const other = (await createOrg(sys, { name: 'Other Vendor' })).id;
  const vendorUser = (await createHumanUser(sys, { orgId: vendor, username: 'v', email: 'v@example.com' })).id;
  const customerUser = (await createHumanUser(sys, { orgId: customer, username: 'c', email: 'c@example.com' })).id;
  // Vendor gives: its project granted to Customer, with a user grant under that grant.
  const project = (await createProject(sys, { orgId: vendor, name: 'P' })).id;
  await addProjectRoles(sys, project, [{ key: 'reader', displayName: 'Reader' }]);
  const given = (await grantProject(sys, { projectId: project, grantedOrgId: customer, roleKeys: ['reader'] })).id;
  await addUserGrant(sys, { userId: customerUser, projectId: project, orgId: customer, roleKeys: ['reader'] });
  // Vendor receives: Other Vendor's project granted to it, and Vendor gives its user a role under it.
  const otherProject = (await createProject(sys, { orgId: other, name: 'Q' })).id;
  await addProjectRoles(sys, otherProject, [{ key: 'x', displayName: 'X' }]);
  const received = (await grantProject(sys, { projectId: otherProject, grantedOrgId: vendor, roleKeys: ['x'] })).id;
  await addUserGrant(sys, { userId: vendorUser, projectId: otherProject, orgId: vendor, roleKeys: ['x'] });
  await addMember(sys, { userId: customerUser, level: 'project', projectId: project, roles: ['PROJECT_OWNER_VIEWER'] });

  await deleteOrg(sys, vendor);

  const k = rt.db.knex;
  const where = { instance_id: inst.instanceId };
  expect(await getOrg(inst.scope, vendor)).toBeUndefined();
  expect(await getUser(inst.scope, vendorUser)).toBeUndefined();
  expect(await k('projects').where({ ...where, id: project })).toHaveLength(0);
  expect(await k('project_grants').where(where).whereIn('id', [given, received])).toHaveLength(0);
  expect(await k('user_grants').where(where)).toHaveLength(0);
  expect(await k('memberships').where({ ...where, user_id: customerUser })).toHaveLength(0);
  // What is not Vendor's stays.
  expect(await getUser(inst.scope, customerUser)).toBeDefined();
  expect(await k('projects').where({ ...where, id: otherProject })).toHaveLength(1);
  expect(await lastEvent(inst)).toMatchObject({ type: 'org.removed', resource_type: 'org', resource_id: vendor, actor_type: 'system' });
});

test('the default org can be neither deleted nor deactivated', async () => {
  await expect(deleteOrg(c.system(), inst.orgId)).rejects.toMatchObject({ reason: 'org.default_org' });
  await expect(deactivateOrg(c.system(), inst.orgId)).rejects.toMatchObject({ reason: 'org.default_org' });
  expect(await getOrg(inst.scope, inst.orgId)).toMatchObject({ state: 'active' });
});

test('an org holding the last active IAM_OWNER can be neither deleted nor deactivated', async () => {
  const sys = c.system();
  const org = (await createOrg(sys, { name: 'Owners' })).id;
  const owner = (await createHumanUser(sys, { orgId: org, username: 'root', email: 'root@example.com', password: 'Passw0rd!' })).id;
  await addMember(sys, { userId: owner, level: 'instance', roles: ['IAM_OWNER'] });
  await rt.db.knex('memberships').where({ instance_id: inst.instanceId, user_id: inst.adminUserId }).delete();
  await expect(deleteOrg(sys, org)).rejects.toMatchObject({ reason: 'org.last_iam_owner' });
  await expect(deactivateOrg(sys, org)).rejects.toMatchObject({ reason: 'org.last_iam_owner' });
  await addMember(sys, { userId: inst.adminUserId, level: 'instance', roles: ['IAM_OWNER'] });
  await deleteOrg(sys, org);
  expect(await getUser(inst.scope, owner)).toBeUndefined();
});

test('a deactivated org stays stored with its users, refuses new users, and can be reactivated', async () => {
  const sys = c.system();
  const org = (await createOrg(sys, { name: 'Sleepy' })).id;
  const user = (await createHumanUser(sys, { orgId: org, username: 'u', email: 'u@example.com' })).id;
  await deactivateOrg(sys, org);
  expect(await getOrg(inst.scope, org)).toMatchObject({ state: 'inactive' });
  expect(await getUser(inst.scope, user)).toBeDefined();
  await expect(createHumanUser(sys, { orgId: org, username: 'w', email: 'w@example.com' })).rejects.toMatchObject({ reason: 'org.inactive' });
  await expect(deactivateOrg(sys, org)).rejects.toMatchObject({ reason: 'org.already_inactive' });
  await reactivateOrg(sys, org);
  expect(await getOrg(inst.scope, org)).toMatchObject({ state: 'active' });
});

test('a verified domain belongs to at most one org in an instance; unverified claims may coexist', async () => {
  const sys = c.system();
  const a = (await createOrg(sys, { name: 'A' })).id;
  const b = (await createOrg(sys, { name: 'B' })).id;
  await addOrgDomain(sys, a, 'Example.COM', { verified: true });
  await expect(addOrgDomain(sys, b, 'example.com', { verified: true })).rejects.toMatchObject({ code: 'already_exists', reason: 'org_domain.taken' });
  // B may claim it unverified, but can never get it verified while A holds it.
  const claim = await addOrgDomain(sys, b, 'example.com');
  expect(claim).toMatchObject({ verified: false, validationCode: expect.any(String) });
  await expect(verifyOrgDomain(sys, b, 'example.com')).rejects.toMatchObject({ reason: 'org_domain.taken' });
  expect((await findOrgByVerifiedDomain(inst.scope, 'example.com'))?.id).toBe(a);
  // The generated domain of A cannot be taken by B either.
  await expect(addOrgDomain(sys, b, `a.${inst.domain}`, { verified: true })).rejects.toMatchObject({ reason: 'org_domain.taken' });
  // Another instance is another world.
  const other = await testInstance(rt, 'Elsewhere');
  const o = (await createOrg(contexts(rt, other).system(), { name: 'A' })).id;
  await expect(addOrgDomain(contexts(rt, other).system(), o, 'example.com', { verified: true })).resolves.toMatchObject({ verified: true });
});

test('a user cannot self-verify a domain without the DNS proof, and cannot mark it verified when adding it', async () => {
  const org = (await createOrg(c.system(), { name: 'Claimer' })).id;
  const added = await addOrgDomain(c.admin(), org, 'claimer.invalid', { verified: true });
  expect(added.verified).toBe(false);
  await expect(verifyOrgDomain(c.admin(), org, 'claimer.invalid')).rejects.toMatchObject({ reason: 'org_domain.verification_failed' });
  expect((await listOrgDomains(inst.scope, org)).find((d) => d.domain === 'claimer.invalid')?.is_verified).toBe(false);
});

test('the primary domain must be verified and cannot be removed', async () => {
  const sys = c.system();
  const org = (await createOrg(sys, { name: 'Prim' })).id;
  await addOrgDomain(sys, org, 'prim.example');
  await expect(setPrimaryOrgDomain(sys, org, 'prim.example')).rejects.toMatchObject({ reason: 'org_domain.not_verified' });
  await verifyOrgDomain(sys, org, 'prim.example');
  await setPrimaryOrgDomain(sys, org, 'prim.example');
  const domains = await listOrgDomains(inst.scope, org);
  expect(domains.filter((d) => d.is_primary).map((d) => d.domain)).toEqual(['prim.example']);
  await expect(removeOrgDomain(sys, org, 'prim.example')).rejects.toMatchObject({ reason: 'org_domain.primary' });
  await removeOrgDomain(sys, org, `prim.${inst.domain}`);
  expect((await listOrgDomains(inst.scope, org)).map((d) => d.domain)).toEqual(['prim.example']);
});

test('renaming an org moves its generated domain to the new slug', async () => {
  const org = (await createOrg(c.system(), { name: 'Old Name' })).id;
  await renameOrg(c.system(), org, 'New Name');
  expect(await getOrg(inst.scope, org)).toMatchObject({ name: 'New Name' });
  expect((await listOrgDomains(inst.scope, org)).map((d) => [d.domain, d.is_primary, d.is_generated])).toEqual([[`new-name.${inst.domain}`, true, true]]);
  await createOrg(c.system(), { name: 'Taken' });
  await expect(renameOrg(c.system(), org, 'Taken')).rejects.toMatchObject({ reason: 'org.name_taken' });
});

test('invalid domain names are refused', async () => {
  await expect(addOrgDomain(c.system(), inst.orgId, 'https://x.example/path')).rejects.toMatchObject({ code: 'invalid_input' });
  await expect(addOrgDomain(c.system(), inst.orgId, 'bad_domain.example')).rejects.toMatchObject({ code: 'invalid_input' });
});

describe('permissions', () => {
  let orgA: string, orgB: string, ownerA: string;
  beforeEach(async () => {
    const sys = c.system();
    orgA = (await createOrg(sys, { name: 'Perm A' })).id;
    orgB = (await createOrg(sys, { name: 'Perm B' })).id;
    ownerA = (await createHumanUser(sys, { orgId: orgA, username: 'owner', email: 'owner@example.com' })).id;
    await addMember(sys, { userId: ownerA, level: 'org', orgId: orgA, roles: ['ORG_OWNER'] });
  });

  test('an org owner manages its own org', async () => {
    await renameOrg(c.as(ownerA, orgA), orgA, 'Perm A2');
    expect(await lastEvent(inst)).toMatchObject({ type: 'org.renamed', actor_id: ownerA, actor_type: 'user', org_id: orgA, resource_id: orgA });
  });

  test.each([
    ['create an org', () => createOrg(c.as(ownerA, orgA), { name: 'Sneaky' })],
    ['rename another org', () => renameOrg(c.as(ownerA, orgA), orgB, 'Mine')],
    ['delete another org', () => deleteOrg(c.as(ownerA, orgA), orgB)],
    ['deactivate another org', () => deactivateOrg(c.as(ownerA, orgA), orgB)],
    ['add a domain to another org', () => addOrgDomain(c.as(ownerA, orgA), orgB, 'b.example')],
  ])('an org owner cannot %s, and nothing changes', async (_name, call) => {
    const before = await snapshot(rt, inst.instanceId);
    await expect(call()).rejects.toMatchObject({ code: 'permission_denied' });
    expect(await snapshot(rt, inst.instanceId)).toEqual(before);
  });
});
