import { testInstance, testRuntime, type TestInstance } from '../support/runtime.js';
import type { Runtime } from '../../src/runtime/index.js';
import type { ServiceContext } from '../../src/domain/deps.js';
import { listEvents } from '../../src/domain/audit/repository.js';
import * as orgs from '../../src/domain/org/service.js';
import * as users from '../../src/domain/user/service.js';
import * as policies from '../../src/domain/policy/service.js';
import * as idps from '../../src/domain/idp/service.js';
import * as members from '../../src/domain/membership/service.js';
import * as instance from '../../src/domain/instance/service.js';
import { contexts } from './identity-support.js';

/** Every change through the identity services appends exactly one event naming actor, resource and type. */
let rt: Runtime;
let inst: TestInstance;
let ctx: ServiceContext;
const ids: Record<string, string> = {};

beforeAll(async () => {
  rt = await testRuntime();
  inst = await testInstance(rt, 'Audit');
  ctx = contexts(rt, inst).admin(); // a real user, so actor_id is checked too
});
afterAll(async () => {
  await rt.close();
});

type Row = [type: string, resourceType: string, resourceId: () => string, call: () => Promise<unknown>];

// Runs in order: later rows use what earlier rows created.
const rows: Row[] = [
  [
    'org.added',
    'org',
    () => ids.org,
    async () => {
      ids.org = (await orgs.createOrg(ctx, { name: 'Audited' })).id;
    },
  ],
  ['org.renamed', 'org', () => ids.org, () => orgs.renameOrg(ctx, ids.org, 'Audited Co')],
  ['org.domain.added', 'org', () => ids.org, () => orgs.addOrgDomain(ctx, ids.org, 'audited.example')],
  ['org.domain.removed', 'org', () => ids.org, () => orgs.removeOrgDomain(ctx, ids.org, 'audited.example')],
  ['org.deactivated', 'org', () => ids.org, () => orgs.deactivateOrg(ctx, ids.org)],
  ['org.reactivated', 'org', () => ids.org, () => orgs.reactivateOrg(ctx, ids.org)],
  [
    'user.human.added',
    'user',
    () => ids.human,
    async () => {
      ids.human = (await users.createHumanUser(ctx, { orgId: ids.org, username: 'h', email: 'h@example.com' })).id;
    },
  ],
  ['user.profile.changed', 'user', () => ids.human, () => users.updateUserProfile(ctx, ids.human, { givenName: 'H' })],
  ['user.password.changed', 'user', () => ids.human, () => users.setPassword(ctx, ids.human, 'Passw0rd-1')],
  ['user.locked', 'user', () => ids.human, () => users.lockUser(ctx, ids.human)],
  ['user.unlocked', 'user', () => ids.human, () => users.unlockUser(ctx, ids.human)],
  ['user.deactivated', 'user', () => ids.human, () => users.deactivateUser(ctx, ids.human)],
  ['user.reactivated', 'user', () => ids.human, () => users.reactivateUser(ctx, ids.human)],
  ['user.metadata.set', 'user', () => ids.human, () => users.setUserMetadata(ctx, ids.human, 'k', 'v')],
  ['user.metadata.removed', 'user', () => ids.human, () => users.removeUserMetadata(ctx, ids.human, 'k')],
  [
    'user.machine.added',
    'user',
    () => ids.machine,
    async () => {
      ids.machine = (await users.createMachineUser(ctx, { orgId: ids.org, username: 'm', name: 'M' })).id;
    },
  ],
  ['user.machine.secret.set', 'user', () => ids.machine, () => users.generateMachineSecret(ctx, ids.machine)],
  ['user.machine.secret.removed', 'user', () => ids.machine, () => users.removeMachineSecret(ctx, ids.machine)],
  [
    'user.machine.key.added',
    'user',
    () => ids.machine,
    async () => {
      ids.key = (await users.addMachineKey(ctx, ids.machine)).keyId;
    },
  ],
  ['user.machine.key.removed', 'user', () => ids.machine, () => users.removeMachineKey(ctx, ids.machine, ids.key)],
  [
    'user.pat.added',
    'user',
    () => ids.machine,
    async () => {
      ids.pat = (await users.addPersonalAccessToken(ctx, ids.machine)).id;
    },
  ],
  ['user.pat.removed', 'user', () => ids.machine, () => users.removePersonalAccessToken(ctx, ids.machine, ids.pat)],
  ['instance.policy.login.set', 'policy', () => 'login', () => policies.setInstancePolicy(ctx, 'login', { allowRegister: true })],
  ['org.policy.label.set', 'policy', () => `${ids.org}:label`, () => policies.setOrgPolicy(ctx, ids.org, 'label', { primaryColor: '#112233' })],
  ['org.policy.label.reset', 'policy', () => `${ids.org}:label`, () => policies.resetOrgPolicy(ctx, ids.org, 'label')],
  [
    'idp.added',
    'idp',
    () => ids.idp,
    async () => {
      ids.idp = (await idps.createIdp(ctx, { name: 'I', issuer: 'https://i.example', clientId: 'c', clientSecret: 's' })).id;
    },
  ],
  ['idp.changed', 'idp', () => ids.idp, () => idps.updateIdp(ctx, ids.idp, { name: 'I2' })],
  ['user.idp.linked', 'user', () => ids.human, () => idps.linkUserToIdp(ctx, { idpId: ids.idp, externalUserId: 'x', userId: ids.human })],
  ['user.idp.unlinked', 'user', () => ids.human, () => idps.unlinkUser(ctx, { idpId: ids.idp, externalUserId: 'x' })],
  ['idp.removed', 'idp', () => ids.idp, () => idps.deleteIdp(ctx, ids.idp)],
  [
    'org.member.added',
    'membership',
    () => ids.member,
    async () => {
      ids.member = (await members.addMember(ctx, { userId: ids.human, level: 'org', orgId: ids.org, roles: ['ORG_OWNER'] })).id;
    },
  ],
  ['org.member.changed', 'membership', () => ids.member, () => members.changeMemberRoles(ctx, ids.member, ['ORG_OWNER_VIEWER'])],
  ['org.member.removed', 'membership', () => ids.member, () => members.removeMember(ctx, ids.member)],
  ['instance.oidc_settings.changed', 'instance', () => inst.instanceId, () => instance.updateOidcSettings(ctx, { accessTokenLifetimeS: 600 })],
  [
    'instance.smtp.changed',
    'instance',
    () => inst.instanceId,
    () => instance.setSmtpSettings(ctx, { host: 'h', port: 25, tls: false, fromAddress: 'a@b.c', fromName: 'n' }),
  ],
  ['instance.renamed', 'instance', () => inst.instanceId, () => instance.renameInstance(ctx, 'Audit 2')],
  ['user.removed', 'user', () => ids.human, () => users.deleteUser(ctx, ids.human)],
  ['org.removed', 'org', () => ids.org, () => orgs.deleteOrg(ctx, ids.org)],
];

test.each(rows)('%s', async (type, resourceType, resourceId, call) => {
  const before = await listEvents(inst.scope, { limit: 1000 });
  await call();
  const after = await listEvents(inst.scope, { limit: 1000 });
  expect(after).toHaveLength(before.length + 1);
  expect(after[after.length - 1]).toMatchObject({
    type,
    resource_type: resourceType,
    resource_id: resourceId(),
    actor_type: 'user',
    actor_id: inst.adminUserId,
    created_at: expect.any(Date),
  });
});
