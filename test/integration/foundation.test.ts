import { testRuntime, testInstance } from '../support/runtime.js';
import type { Runtime } from '../../src/runtime/index.js';
import { getInstance, listInstanceDomains } from '../../src/domain/instance/repository.js';
import { listOrgDomains } from '../../src/domain/org/repository.js';
import { listMembershipsOfUser } from '../../src/domain/membership/repository.js';

let rt: Runtime;
beforeAll(async () => {
  rt = await testRuntime();
});
afterAll(async () => {
  await rt.close();
});

test('a new instance has its domain, token lifetimes, a default org with a generated verified domain and an IAM_OWNER', async () => {
  const inst = await testInstance(rt, 'Acme Corp');
  const row = await getInstance(inst.scope);
  expect(row).toMatchObject({
    access_token_lifetime_s: 43200,
    id_token_lifetime_s: 43200,
    refresh_token_idle_s: 30 * 86400,
    refresh_token_absolute_s: 90 * 86400,
    default_org_id: inst.orgId,
  });
  expect(await listInstanceDomains(inst.scope)).toEqual([expect.objectContaining({ domain: inst.domain, is_primary: true })]);
  expect(await listOrgDomains(inst.scope, inst.orgId)).toEqual([
    expect.objectContaining({ domain: `acme-corp-org.${inst.domain}`, is_verified: true, is_primary: true, is_generated: true }),
  ]);
  const memberships = await listMembershipsOfUser(inst.scope, inst.adminUserId);
  expect(memberships).toEqual([expect.objectContaining({ level: 'instance', roles: ['IAM_OWNER'] })]);
});

test('an instance domain belongs to one instance only', async () => {
  const a = await testInstance(rt);
  await expect(rt.db.knex('instance_domains').insert({ domain: a.domain, instance_id: (await testInstance(rt)).instanceId })).rejects.toThrow(/duplicate key/);
});
