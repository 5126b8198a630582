import { testInstance, testRuntime, type TestInstance } from '../support/runtime.js';
import type { Runtime } from '../../src/runtime/index.js';
import { createOrg } from '../../src/domain/org/service.js';
import { createHumanUser } from '../../src/domain/user/service.js';
import { getEffectivePolicy, getOrgPolicyOverride, resetOrgPolicy, setInstancePolicy, setOrgPolicy } from '../../src/domain/policy/service.js';
import { checkPasswordComplexity } from '../../src/domain/policy/password.js';
import { builtInDefault } from '../../src/domain/policy/schemas.js';
import { createIdp, deleteIdp, findUserByIdpLink, getIdpWithSecret, linkUserToIdp, listIdps, unlinkUser, updateIdp } from '../../src/domain/idp/service.js';
import {
  addInstanceDomain,
  deleteInstance,
  getSmtpSettings,
  removeInstanceDomain,
  setPrimaryInstanceDomain,
  setSmtpSettings,
  updateOidcSettings,
} from '../../src/domain/instance/service.js';
import { getInstance, listInstanceDomains, findInstanceIdByDomain } from '../../src/domain/instance/repository.js';
import { addMember } from '../../src/domain/membership/service.js';
import { contexts, lastEvent, snapshot } from './identity-support.js';
import { noticesHeard } from '../support/notices.js';

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
  inst = await testInstance(rt, 'Settings');
  c = contexts(rt, inst);
});

describe('policies', () => {
  test('an org follows the instance default until it overrides it, and again after a reset', async () => {
    const org = (await createOrg(c.system(), { name: 'P' })).id;
    expect(await getEffectivePolicy(inst.scope, 'lockout', org)).toEqual(builtInDefault('lockout'));
    await setInstancePolicy(c.system(), 'lockout', { maxPasswordAttempts: 5, showLockoutFailures: true });
    expect(await getEffectivePolicy(inst.scope, 'lockout', org)).toEqual({ maxPasswordAttempts: 5, showLockoutFailures: true });
    expect(await getOrgPolicyOverride(inst.scope, org, 'lockout')).toBeUndefined();

    // A whole-object override: fields left out take the built-in defaults, not the instance's.
    await setOrgPolicy(c.system(), org, 'lockout', { maxPasswordAttempts: 3 });
    expect(await getEffectivePolicy(inst.scope, 'lockout', org)).toEqual({ maxPasswordAttempts: 3, showLockoutFailures: false });
    expect(await getEffectivePolicy(inst.scope, 'lockout')).toEqual({ maxPasswordAttempts: 5, showLockoutFailures: true });
    expect(await lastEvent(inst)).toMatchObject({ type: 'org.policy.lockout.set', org_id: org, resource_type: 'policy' });

    await resetOrgPolicy(c.system(), org, 'lockout');
    expect(await getOrgPolicyOverride(inst.scope, org, 'lockout')).toBeUndefined();
    expect(await getEffectivePolicy(inst.scope, 'lockout', org)).toEqual({ maxPasswordAttempts: 5, showLockoutFailures: true });
  });

  test('invalid settings are refused with the field named', async () => {
    await expect(setInstancePolicy(c.system(), 'label', { primaryColor: 'red' })).rejects.toMatchObject({
      code: 'invalid_input',
      message: expect.stringContaining('primaryColor'),
    });
    await expect(setOrgPolicy(c.system(), inst.orgId, 'login', { notASetting: true })).rejects.toMatchObject({ code: 'invalid_input' });
  });

  test("the org password complexity policy applies to that org's users", async () => {
    const org = (await createOrg(c.system(), { name: 'Strict' })).id;
    await setOrgPolicy(c.system(), org, 'password_complexity', { minLength: 12, hasSymbol: true });
    await expect(createHumanUser(c.system(), { orgId: org, username: 'u', email: 'u@example.com', password: 'Otterly9' })).rejects.toMatchObject({
      details: { unmet: ['must be at least 12 characters', 'must contain a symbol'] },
    });
    await expect(createHumanUser(c.system(), { orgId: inst.orgId, username: 'u', email: 'u@example.com', password: 'Otterly9' })).resolves.toHaveProperty('id');
  });

  test.each([
    ['Otterly9', []],
    ['otterly9', ['must contain an uppercase letter']],
    ['OTTERLY9', ['must contain a lowercase letter']],
    ['Otterlyy', ['must contain a number']],
    ['Abcdefg1', ['is one of the passwords most often found in data breaches: choose another']],
    ['Ab1', ['must be at least 8 characters']],
    ['Ünïcödé9', []],
  ])('password complexity of %j', (password, unmet) => {
    expect(checkPasswordComplexity(builtInDefault('password_complexity'), password)).toEqual(unmet);
  });
});

describe('identity providers', () => {
  const input = { name: 'Corp SSO', issuer: 'https://sso.corp.example/', clientId: 'tessera', clientSecret: 'super-secret-value-123' };

  test('the client secret is stored encrypted and decrypts for the login flow', async () => {
    const { id } = await createIdp(c.system(), input);
    const raw = await rt.db.knex('idps').where({ instance_id: inst.instanceId, id }).first();
    expect(raw.client_secret_enc).toMatch(/^v1\./);
    expect(JSON.stringify(raw)).not.toContain(input.clientSecret);
    const idp = await getIdpWithSecret(inst.scope, id, rt.deps.box);
    expect(idp).toMatchObject({
      issuer: 'https://sso.corp.example',
      client_id: 'tessera',
      clientSecret: input.clientSecret,
      scopes: ['openid', 'profile', 'email'],
    });
    await updateIdp(c.system(), id, { clientSecret: 'rotated-secret-456', autoLinking: 'email' });
    expect(await getIdpWithSecret(inst.scope, id, rt.deps.box)).toMatchObject({ clientSecret: 'rotated-secret-456', auto_linking: 'email' });
    expect(await lastEvent(inst)).toMatchObject({ type: 'idp.changed', payload: { fields: expect.arrayContaining(['client_secret', 'auto_linking']) } });
    expect(JSON.stringify((await lastEvent(inst)).payload)).not.toContain('rotated-secret-456');
  });

  test("instance IdPs are visible to every org, an org's own only to it", async () => {
    const a = (await createOrg(c.system(), { name: 'A' })).id;
    const b = (await createOrg(c.system(), { name: 'B' })).id;
    const shared = (await createIdp(c.system(), input)).id;
    const own = (await createIdp(c.system(), { ...input, name: 'A only', orgId: a })).id;
    expect((await listIdps(inst.scope, { orgId: a })).map((i) => i.id).sort()).toEqual([shared, own].sort());
    expect((await listIdps(inst.scope, { orgId: b })).map((i) => i.id)).toEqual([shared]);
    expect((await listIdps(inst.scope)).map((i) => i.id)).toEqual([shared]);
    expect((await listIdps(inst.scope, { orgId: a, onlyOrg: true })).map((i) => i.id)).toEqual([own]);
    expect(await listIdps(inst.scope, { orgId: a })).not.toContainEqual(expect.objectContaining({ client_secret_enc: expect.anything() }));
  });

  test('users link to an IdP available to their org, once per external account', async () => {
    const a = (await createOrg(c.system(), { name: 'A' })).id;
    const b = (await createOrg(c.system(), { name: 'B' })).id;
    const idpOfB = (await createIdp(c.system(), { ...input, orgId: b })).id;
    const shared = (await createIdp(c.system(), input)).id;
    const user = (await createHumanUser(c.system(), { orgId: a, username: 'linked', email: 'l@example.com' })).id;
    await expect(linkUserToIdp(c.system(), { idpId: idpOfB, externalUserId: 'ext-1', userId: user })).rejects.toMatchObject({ reason: 'idp.not_available' });
    await linkUserToIdp(c.system(), { idpId: shared, externalUserId: 'ext-1', userId: user, externalUsername: 'linked@corp' });
    expect(await findUserByIdpLink(inst.scope, shared, 'ext-1')).toMatchObject({ user_id: user, external_username: 'linked@corp' });
    await expect(linkUserToIdp(c.system(), { idpId: shared, externalUserId: 'ext-1', userId: inst.adminUserId })).rejects.toMatchObject({
      reason: 'idp_link.exists',
    });
    await unlinkUser(c.system(), { idpId: shared, externalUserId: 'ext-1' });
    expect(await findUserByIdpLink(inst.scope, shared, 'ext-1')).toBeUndefined();
    await linkUserToIdp(c.system(), { idpId: shared, externalUserId: 'ext-2', userId: user });
    await deleteIdp(c.system(), shared);
    expect(await findUserByIdpLink(inst.scope, shared, 'ext-2')).toBeUndefined();
  });

  test("an org owner manages its own IdPs but not the instance's, and a refusal changes nothing", async () => {
    const a = (await createOrg(c.system(), { name: 'A' })).id;
    const owner = (await createHumanUser(c.system(), { orgId: a, username: 'o', email: 'o@example.com' })).id;
    await addMember(c.system(), { userId: owner, level: 'org', orgId: a, roles: ['ORG_OWNER'] });
    const asOwner = c.as(owner, a);
    await expect(createIdp(asOwner, { ...input, orgId: a })).resolves.toHaveProperty('id');
    const before = await snapshot(rt, inst.instanceId);
    await expect(createIdp(asOwner, input)).rejects.toMatchObject({ code: 'permission_denied' });
    expect(await snapshot(rt, inst.instanceId)).toEqual(before);
  });
});

describe('instance settings', () => {
  test('OIDC lifetimes change and are validated', async () => {
    await updateOidcSettings(c.admin(), { accessTokenLifetimeS: 3600, refreshTokenIdleS: 86400 });
    expect(await getInstance(inst.scope)).toMatchObject({ access_token_lifetime_s: 3600, id_token_lifetime_s: 43200, refresh_token_idle_s: 86400 });
    await expect(updateOidcSettings(c.admin(), { accessTokenLifetimeS: 5 })).rejects.toMatchObject({ code: 'invalid_input' });
    await expect(updateOidcSettings(c.admin(), { refreshTokenIdleS: 100 * 86400 })).rejects.toMatchObject({ reason: 'instance.refresh_idle_exceeds_absolute' });
    expect(await lastEvent(inst)).toMatchObject({ type: 'instance.oidc_settings.changed', actor_id: inst.adminUserId });
  });

  test('SMTP password is stored encrypted, read back decrypted, and kept when not given', async () => {
    await setSmtpSettings(c.admin(), {
      host: 'smtp.example',
      port: 587,
      tls: true,
      user: 'mailer',
      password: 'smtp-pass-789',
      fromAddress: 'noreply@example.com',
      fromName: 'Tessera',
    });
    const raw = await rt.db.knex('instances').where({ id: inst.instanceId }).first();
    expect(raw.smtp_password_enc).toMatch(/^v1\./);
    expect(JSON.stringify(raw)).not.toContain('smtp-pass-789');
    expect(await getSmtpSettings(inst.scope, rt.deps.box)).toMatchObject({ host: 'smtp.example', port: 587, password: 'smtp-pass-789' });
    await setSmtpSettings(c.admin(), { host: 'smtp2.example', port: 25, tls: false, fromAddress: 'noreply@example.com', fromName: 'T' });
    expect(await getSmtpSettings(inst.scope, rt.deps.box)).toMatchObject({ host: 'smtp2.example', password: 'smtp-pass-789' });
    expect(JSON.stringify((await lastEvent(inst)).payload)).not.toContain('smtp-pass');
  });

  test('instance domains are unique across the installation, changed by the system or an IAM_OWNER of the instance', async () => {
    const other = await testInstance(rt, 'Other');
    await expect(addInstanceDomain(c.system(), other.domain)).rejects.toMatchObject({ code: 'already_exists', reason: 'instance_domain.taken' });
    await expect(addInstanceDomain(c.system(), inst.domain)).rejects.toMatchObject({ code: 'already_exists', reason: 'instance_domain.exists' });
    // An IAM_ORG_MANAGER reads the instance but may not change its domains.
    const { id: orgManager } = await createHumanUser(c.system(), { orgId: inst.orgId, username: 'iamorg', email: 'iamorg@example.com' });
    await addMember(c.system(), { userId: orgManager, level: 'instance', roles: ['IAM_ORG_MANAGER'] });
    await expect(addInstanceDomain(c.as(orgManager, inst.orgId), `extra.${inst.domain}`)).rejects.toMatchObject({ code: 'permission_denied' });
    await addInstanceDomain(c.admin(), `Extra.${inst.domain}`);
    expect(await findInstanceIdByDomain(rt.db.knex, `extra.${inst.domain}`)).toBe(inst.instanceId);
    expect(await lastEvent(inst)).toMatchObject({ type: 'instance.domain.added', actor_id: inst.adminUserId });
    await expect(removeInstanceDomain(c.system(), inst.domain)).rejects.toMatchObject({ reason: 'instance_domain.primary' });
    await expect(removeInstanceDomain(c.admin(), `extra.${inst.domain}`, { servedAt: `extra.${inst.domain}.` })).rejects.toMatchObject({
      reason: 'instance_domain.current',
    });
    await setPrimaryInstanceDomain(c.system(), `extra.${inst.domain}`);
    await removeInstanceDomain(c.admin(), inst.domain, { servedAt: `extra.${inst.domain}` });
    expect(await listInstanceDomains(inst.scope)).toEqual([expect.objectContaining({ domain: `extra.${inst.domain}`, is_primary: true })]);
    await expect(removeInstanceDomain(c.system(), `extra.${inst.domain}`)).rejects.toMatchObject({ reason: 'instance_domain.last' });
    // Other instances stay out of reach: the admin's scope is their own instance.
    expect(await listInstanceDomains(other.scope)).toEqual([expect.objectContaining({ domain: other.domain })]);
  });

  test('a change notice is published after settings change', async () => {
    const heard = noticesHeard(rt.deps.changes, inst.instanceId);
    await updateOidcSettings(c.admin(), { idTokenLifetimeS: 600 });
    await expect(heard).resolves.toBeUndefined();
  });

  test('deleting an instance is for the system only and removes everything in it', async () => {
    const doomed = await testInstance(rt, 'Doomed');
    const d = contexts(rt, doomed);
    await createHumanUser(d.system(), { orgId: doomed.orgId, username: 'x', email: 'x@example.com' });
    await expect(deleteInstance(d.admin())).rejects.toMatchObject({ code: 'permission_denied' });
    await deleteInstance(d.system());
    const left = await snapshot(rt, doomed.instanceId);
    expect(Object.values(left).every((n) => n === 0)).toBe(true);
    expect(await findInstanceIdByDomain(rt.db.knex, doomed.domain)).toBeUndefined();
    expect(await getInstance(inst.scope)).toBeDefined();
  });
});
