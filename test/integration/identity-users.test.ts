import { testInstance, testRuntime, type TestInstance } from '../support/runtime.js';
import type { Runtime } from '../../src/runtime/index.js';
import { addOrgDomain, createOrg } from '../../src/domain/org/service.js';
import {
  addMachineKey,
  addPersonalAccessToken,
  createHumanUser,
  createMachineUser,
  deactivateUser,
  deleteUser,
  generateMachineSecret,
  lockUser,
  reactivateUser,
  removePersonalAccessToken,
  removeUserMetadata,
  setPassword,
  setUserMetadata,
  unlockUser,
  updateUserProfile,
} from '../../src/domain/user/service.js';
import { findUserByPersonalAccessToken, getUser, getUserMetadata, listMachineKeys } from '../../src/domain/user/repository.js';
import { findUserByLoginName, getMachineByClientId, loginNamesOf, loginNamesOfUsers, preferredLoginName } from '../../src/domain/user/login-name-repository.js';
import { setOrgPolicy, setInstancePolicy } from '../../src/domain/policy/service.js';
import { addMember } from '../../src/domain/membership/service.js';
import { listMembershipsOfUser } from '../../src/domain/membership/repository.js';
import { createProject } from '../../src/domain/project/service.js';
import { addProjectRoles } from '../../src/domain/project/roles.js';
import { addUserGrant } from '../../src/domain/user-grant/service.js';
import { sha256 } from '../../src/shared/crypto.js';
import { Scope } from '../../src/db/scope.js';
import { importPKCS8, SignJWT, importJWK, jwtVerify } from 'jose';
import { contexts, lastEvent, snapshot } from './identity-support.js';
import { backendPid, someoneWaitsFor } from '../support/locks.js';

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
  inst = await testInstance(rt, 'Users');
  c = contexts(rt, inst);
});

const mustBeDomain = (value: boolean) => ({ userLoginMustBeDomain: value, validateOrgDomains: true, smtpSenderAddressMatchesInstanceDomain: false });

describe('username uniqueness follows the domain policy', () => {
  test('with userLoginMustBeDomain (the default) a username is unique within its org only', async () => {
    const a = (await createOrg(c.system(), { name: 'A' })).id;
    const b = (await createOrg(c.system(), { name: 'B' })).id;
    await createHumanUser(c.system(), { orgId: a, username: 'bob', email: 'bob@a.example' });
    await expect(createHumanUser(c.system(), { orgId: a, username: 'BOB', email: 'bob2@a.example' })).rejects.toMatchObject({
      code: 'already_exists',
      reason: 'user.username_taken',
    });
    await expect(createHumanUser(c.system(), { orgId: b, username: 'bob', email: 'bob@b.example' })).resolves.toHaveProperty('id');
  });

  test('without it a username is unique across the instance', async () => {
    await setInstancePolicy(c.system(), 'domain', mustBeDomain(false));
    const a = (await createOrg(c.system(), { name: 'A' })).id;
    const b = (await createOrg(c.system(), { name: 'B' })).id;
    await createHumanUser(c.system(), { orgId: a, username: 'carol', email: 'carol@a.example' });
    await expect(createHumanUser(c.system(), { orgId: b, username: 'Carol', email: 'carol@b.example' })).rejects.toMatchObject({
      reason: 'user.username_taken',
    });
    await expect(createMachineUser(c.system(), { orgId: b, username: 'carol', name: 'Carol bot' })).rejects.toMatchObject({ reason: 'user.username_taken' });
    // Renaming into a taken name is refused the same way.
    const dave = (await createHumanUser(c.system(), { orgId: b, username: 'dave', email: 'dave@b.example' })).id;
    await expect(updateUserProfile(c.system(), dave, { username: 'carol' })).rejects.toMatchObject({ reason: 'user.username_taken' });
  });

  test('an org overriding the policy decides for its own new users', async () => {
    const a = (await createOrg(c.system(), { name: 'A' })).id;
    const b = (await createOrg(c.system(), { name: 'B' })).id;
    await createHumanUser(c.system(), { orgId: a, username: 'erin', email: 'erin@a.example' });
    await setOrgPolicy(c.system(), b, 'domain', mustBeDomain(false));
    await expect(createHumanUser(c.system(), { orgId: b, username: 'erin', email: 'erin@b.example' })).rejects.toMatchObject({ reason: 'user.username_taken' });
  });

  test('a creation of the same username waits for a concurrent one to commit, then is refused', async () => {
    await setInstancePolicy(c.system(), 'domain', mustBeDomain(false));
    const x = (await createOrg(c.system(), { name: 'X' })).id;
    const y = (await createOrg(c.system(), { name: 'Y' })).id;
    const trx = await rt.db.knex.transaction();
    try {
      await createHumanUser({ ...c.system(), scope: new Scope(trx, inst.instanceId) }, { orgId: x, username: 'race', email: 'r@example.com' });
      const second = createHumanUser(c.system(), { orgId: y, username: 'race', email: 'r2@example.com' });
      second.catch(() => undefined);
      // The second creation waits for the first's lock rather than finishing on its own.
      expect(await someoneWaitsFor(rt.db.knex, await backendPid(trx))).toBe(true);
      await trx.commit();
      await expect(second).rejects.toMatchObject({ reason: 'user.username_taken' });
    } finally {
      if (!trx.isCompleted()) await trx.rollback();
    }
    expect(await rt.db.knex('users').where({ instance_id: inst.instanceId, username: 'race' })).toHaveLength(1);
  });
});

describe('login names', () => {
  test('resolve username@{verified domain}, then the bare username where allowed, then a verified email', async () => {
    const acme = (await createOrg(c.system(), { name: 'ACME' })).id;
    await addOrgDomain(c.system(), acme, 'acme.example', { verified: true });
    await addOrgDomain(c.system(), acme, 'unproven.example');
    const alice = (await createHumanUser(c.system(), { orgId: acme, username: 'alice', email: 'Alice@Mail.example', emailVerified: true })).id;
    const bob = (await createHumanUser(c.system(), { orgId: acme, username: 'bob', email: 'bob@mail.example' })).id;

    expect((await findUserByLoginName(inst.scope, `alice@acme.${inst.domain}`))?.id).toBe(alice);
    expect((await findUserByLoginName(inst.scope, 'ALICE@acme.example'))?.id).toBe(alice);
    expect(await findUserByLoginName(inst.scope, 'alice@unproven.example')).toBeUndefined();
    expect(await findUserByLoginName(inst.scope, 'alice')).toBeUndefined(); // the domain is required by default
    expect((await findUserByLoginName(inst.scope, 'alice@mail.example'))?.id).toBe(alice); // verified email
    expect(await findUserByLoginName(inst.scope, 'bob@mail.example')).toBeUndefined(); // unverified email

    await setOrgPolicy(c.system(), acme, 'domain', mustBeDomain(false));
    expect((await findUserByLoginName(inst.scope, 'Bob'))?.id).toBe(bob);
    expect(await loginNamesOf(inst.scope, { username: 'bob', org_id: acme })).toEqual([`bob@acme.${inst.domain}`, 'bob@acme.example', 'bob']);
    expect(await preferredLoginName(inst.scope, { username: 'bob', org_id: acme })).toBe(`bob@acme.${inst.domain}`);
    // The same for a page of users of several orgs at once, in one query.
    const names = await loginNamesOfUsers(inst.scope, [
      { id: bob, username: 'bob', org_id: acme },
      { id: inst.adminUserId, username: 'admin', org_id: inst.orgId },
    ]);
    expect(names.get(bob)).toEqual({ loginNames: [`bob@acme.${inst.domain}`, 'bob@acme.example', 'bob'], preferredLoginName: `bob@acme.${inst.domain}` });
    expect(names.get(inst.adminUserId)).toEqual({
      loginNames: await loginNamesOf(inst.scope, { username: 'admin', org_id: inst.orgId }),
      preferredLoginName: await preferredLoginName(inst.scope, { username: 'admin', org_id: inst.orgId }),
    });
  });

  test('a login name of another instance finds nothing', async () => {
    const other = await testInstance(rt, 'Other');
    expect(await findUserByLoginName(other.scope, `admin@users-org.${inst.domain}`)).toBeUndefined();
    expect((await findUserByLoginName(inst.scope, `admin@users-org.${inst.domain}`))?.id).toBe(inst.adminUserId);
  });
});

test('deleting a user removes their grants and memberships', async () => {
  const sys = c.system();
  const org = (await createOrg(sys, { name: 'Del' })).id;
  const user = (await createHumanUser(sys, { orgId: org, username: 'gone', email: 'gone@example.com' })).id;
  const project = (await createProject(sys, { orgId: org, name: 'P' })).id;
  await addProjectRoles(sys, project, [{ key: 'r', displayName: 'R' }]);
  await addUserGrant(sys, { userId: user, projectId: project, orgId: org, roleKeys: ['r'] });
  await addMember(sys, { userId: user, level: 'org', orgId: org, roles: ['ORG_OWNER'] });
  await setUserMetadata(sys, user, 'k', 'v');

  await deleteUser(sys, user);

  expect(await getUser(inst.scope, user)).toBeUndefined();
  expect(await rt.db.knex('user_grants').where({ instance_id: inst.instanceId, user_id: user })).toHaveLength(0);
  expect(await listMembershipsOfUser(inst.scope, user)).toHaveLength(0);
  expect(await getUserMetadata(inst.scope, user)).toEqual({});
  expect(await lastEvent(inst)).toMatchObject({ type: 'user.removed', resource_type: 'user', resource_id: user, org_id: org, actor_type: 'system' });
});

test('the last active IAM_OWNER cannot be deleted, deactivated or locked', async () => {
  await expect(deleteUser(c.system(), inst.adminUserId)).rejects.toMatchObject({ reason: 'user.last_iam_owner' });
  await expect(deactivateUser(c.system(), inst.adminUserId)).rejects.toMatchObject({ reason: 'user.last_iam_owner' });
  await expect(lockUser(c.system(), inst.adminUserId)).rejects.toMatchObject({ reason: 'user.last_iam_owner' });
});

test('locked and deactivated users stay stored, and their states move only along allowed transitions', async () => {
  const sys = c.system();
  const u = (await createHumanUser(sys, { orgId: inst.orgId, username: 'st', email: 'st@example.com', password: 'Passw0rd!' })).id;
  await lockUser(sys, u);
  expect(await getUser(inst.scope, u)).toMatchObject({ state: 'locked' });
  await expect(reactivateUser(sys, u)).rejects.toMatchObject({ reason: 'user.cannot_reactivate' });
  await unlockUser(sys, u);
  await deactivateUser(sys, u);
  expect(await getUser(inst.scope, u)).toMatchObject({ state: 'inactive', username: 'st' });
  await reactivateUser(sys, u);
  expect(await getUser(inst.scope, u)).toMatchObject({ state: 'active' });
});

describe('passwords', () => {
  test('complexity rules are checked and reported, and the stored hash is argon2id', async () => {
    const sys = c.system();
    await expect(createHumanUser(sys, { orgId: inst.orgId, username: 'weak', email: 'w@example.com', password: 'short' })).rejects.toMatchObject({
      code: 'rule_violation',
      reason: 'password.complexity',
      details: { unmet: ['must be at least 8 characters', 'must contain an uppercase letter', 'must contain a number'] },
    });
    await expect(
      createHumanUser(sys, { orgId: inst.orgId, username: 'weak', email: 'w@example.com', password: `Aa1${'x'.repeat(300)}` }),
    ).rejects.toMatchObject({ details: { unmet: ['must be at most 256 characters'] } });
    const { id } = await createHumanUser(sys, { orgId: inst.orgId, username: 'strong', email: 's@example.com', password: 'Str0ngPass' });
    const row = await getUser(inst.scope, id);
    expect(row?.password_hash).toMatch(/^\$argon2id\$/);
    expect(row?.state).toBe('active');
    expect(await rt.deps.hasher.verify(row!.password_hash, 'Str0ngPass')).toBe(true);
  });

  test('a user without a password starts initial and becomes active when one is set', async () => {
    const { id } = await createHumanUser(c.system(), { orgId: inst.orgId, username: 'init', email: 'i@example.com' });
    expect((await getUser(inst.scope, id))?.state).toBe('initial');
    await setPassword(c.system(), id, 'N3wPassword');
    expect((await getUser(inst.scope, id))?.state).toBe('active');
    expect(await lastEvent(inst)).toMatchObject({ type: 'user.password.changed', payload: {} });
  });

  test('a user changes their own password only with the current one', async () => {
    const { id } = await createHumanUser(c.system(), { orgId: inst.orgId, username: 'self', email: 'self@example.com', password: 'Old-Passw0rd' });
    const me = c.as(id, inst.orgId);
    await expect(setPassword(me, id, 'New-Passw0rd')).rejects.toMatchObject({ code: 'permission_denied' });
    await expect(setPassword(me, id, 'New-Passw0rd', { currentPassword: 'wrong' })).rejects.toMatchObject({ reason: 'user.password_mismatch' });
    await setPassword(me, id, 'New-Passw0rd', { currentPassword: 'Old-Passw0rd' });
    expect(await rt.deps.hasher.verify((await getUser(inst.scope, id))!.password_hash, 'New-Passw0rd')).toBe(true);
  });
});

describe('machine credentials', () => {
  test('a machine secret is stored hashed and the client id is the username', async () => {
    const { id } = await createMachineUser(c.system(), { orgId: inst.orgId, username: 'svc', name: 'Service' });
    const { clientId, clientSecret } = await generateMachineSecret(c.system(), id);
    expect(clientId).toBe('svc');
    const row = await getUser(inst.scope, id);
    expect(row?.client_secret_hash).toMatch(/^\$argon2id\$/);
    expect(row?.client_secret_hash).not.toContain(clientSecret);
    expect(await rt.deps.hasher.verify(row!.client_secret_hash, clientSecret)).toBe(true);
    expect((await getMachineByClientId(inst.scope, 'svc'))?.id).toBe(id);
  });

  test('a personal access token is stored as its sha-256, finds its user, and stops when removed or the user is locked', async () => {
    const { id } = await createMachineUser(c.system(), { orgId: inst.orgId, username: 'bot', name: 'Bot' });
    const pat = await addPersonalAccessToken(c.system(), id, { scopes: ['openid'] });
    const stored = await rt.db.knex('personal_access_tokens').where({ instance_id: inst.instanceId, id: pat.id }).first();
    expect(stored.token_hash).toBe(sha256(pat.token));
    expect(JSON.stringify(stored)).not.toContain(pat.token);
    expect(await findUserByPersonalAccessToken(inst.scope, pat.token)).toMatchObject({ id, pat_id: pat.id, pat_scopes: ['openid'] });
    expect(await findUserByPersonalAccessToken((await testInstance(rt, 'Other')).scope, pat.token)).toBeUndefined();
    await lockUser(c.system(), id);
    expect(await findUserByPersonalAccessToken(inst.scope, pat.token)).toBeUndefined();
    await unlockUser(c.system(), id);
    await removePersonalAccessToken(c.system(), id, pat.id);
    expect(await findUserByPersonalAccessToken(inst.scope, pat.token)).toBeUndefined();
  });

  test('an expired personal access token finds nothing', async () => {
    const { id } = await createMachineUser(c.system(), { orgId: inst.orgId, username: 'old', name: 'Old' });
    const pat = await addPersonalAccessToken(c.system(), id, { expiresAt: new Date(Date.now() + 60_000) });
    await rt.db
      .knex('personal_access_tokens')
      .where({ instance_id: inst.instanceId, id: pat.id })
      .update({ expires_at: new Date(Date.now() - 1000) });
    expect(await findUserByPersonalAccessToken(inst.scope, pat.token)).toBeUndefined();
  });

  test('a machine key stores only its public half, which verifies what the private half signs', async () => {
    const { id } = await createMachineUser(c.system(), { orgId: inst.orgId, username: 'jwt', name: 'JWT' });
    const key = await addMachineKey(c.system(), id);
    const [row] = await listMachineKeys(inst.scope, id);
    expect(row.public_jwk).toMatchObject({ kid: key.keyId, kty: 'RSA', alg: 'RS256' });
    expect(row.public_jwk).not.toHaveProperty('d');
    expect(JSON.parse(key.keyJson)).toMatchObject({ type: 'serviceaccount', keyId: key.keyId, userId: id });
    const jwt = await new SignJWT({})
      .setProtectedHeader({ alg: 'RS256', kid: key.keyId })
      .setSubject(id)
      .sign(await importPKCS8(key.privateKeyPem, 'RS256'));
    await expect(jwtVerify(jwt, await importJWK(row.public_jwk, 'RS256'))).resolves.toBeDefined();
  });

  test('a machine client id shared by two orgs resolves only by its login name', async () => {
    const a = (await createOrg(c.system(), { name: 'MA' })).id;
    const b = (await createOrg(c.system(), { name: 'MB' })).id;
    const inA = (await createMachineUser(c.system(), { orgId: a, username: 'etl', name: 'ETL' })).id;
    await createMachineUser(c.system(), { orgId: b, username: 'etl', name: 'ETL' });
    expect(await getMachineByClientId(inst.scope, 'etl')).toBeUndefined();
    expect((await getMachineByClientId(inst.scope, `etl@ma.${inst.domain}`))?.id).toBe(inA);
    expect(await getMachineByClientId(inst.scope, `admin@users-org.${inst.domain}`)).toBeUndefined(); // a human is no client
  });

  test('humans get no machine credentials', async () => {
    await expect(generateMachineSecret(c.system(), inst.adminUserId)).rejects.toMatchObject({ reason: 'user.not_machine' });
    await expect(addPersonalAccessToken(c.system(), inst.adminUserId)).rejects.toMatchObject({ reason: 'user.not_machine' });
  });
});

test('metadata is set, replaced and removed', async () => {
  const sys = c.system();
  await setUserMetadata(sys, inst.adminUserId, 'tier', 'gold');
  await setUserMetadata(sys, inst.adminUserId, 'tier', 'platinum');
  await setUserMetadata(sys, inst.adminUserId, 'region', 'eu');
  expect(await getUserMetadata(inst.scope, inst.adminUserId)).toEqual({ region: 'eu', tier: 'platinum' });
  await removeUserMetadata(sys, inst.adminUserId, 'tier');
  expect(await getUserMetadata(inst.scope, inst.adminUserId)).toEqual({ region: 'eu' });
  expect(await lastEvent(inst)).toMatchObject({ type: 'user.metadata.removed', payload: { key: 'tier' } });
});

describe('permissions', () => {
  test('a user manager of one org cannot touch users of another, and nothing changes', async () => {
    const sys = c.system();
    const a = (await createOrg(sys, { name: 'PA' })).id;
    const b = (await createOrg(sys, { name: 'PB' })).id;
    const manager = (await createHumanUser(sys, { orgId: a, username: 'mgr', email: 'mgr@example.com' })).id;
    await addMember(sys, { userId: manager, level: 'org', orgId: a, roles: ['ORG_USER_MANAGER'] });
    const victim = (await createHumanUser(sys, { orgId: b, username: 'victim', email: 'v@example.com', password: 'Passw0rd!' })).id;
    const asManager = c.as(manager, a);

    await expect(createHumanUser(asManager, { orgId: a, username: 'ok', email: 'ok@example.com' })).resolves.toHaveProperty('id');
    expect(await lastEvent(inst)).toMatchObject({ type: 'user.human.added', actor_id: manager, actor_type: 'user', org_id: a });
    const before = await snapshot(rt, inst.instanceId);
    for (const call of [
      () => createHumanUser(asManager, { orgId: b, username: 'x', email: 'x@example.com' }),
      () => deleteUser(asManager, victim),
      () => lockUser(asManager, victim),
      () => setPassword(asManager, victim, 'Hijack3d!'),
      () => setUserMetadata(asManager, victim, 'k', 'v'),
      () => updateUserProfile(asManager, victim, { email: 'mine@example.com' }),
    ]) {
      await expect(call()).rejects.toMatchObject({ code: 'permission_denied' });
    }
    expect(await snapshot(rt, inst.instanceId)).toEqual(before);
    expect(await rt.deps.hasher.verify((await getUser(inst.scope, victim))!.password_hash, 'Passw0rd!')).toBe(true);
  });
});
