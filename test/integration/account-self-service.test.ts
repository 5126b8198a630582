import { testInstance, testRuntime, type TestInstance } from '../support/runtime.js';
import type { Runtime } from '../../src/runtime/index.js';
import { createHumanUser } from '../../src/domain/user/service.js';
import { updateOwnProfile } from '../../src/domain/user/self-service.js';
import { getUser } from '../../src/domain/user/repository.js';
import { contexts, lastEvent } from './identity-support.js';

/** What users change about themselves (the account page's profile), and what they cannot. */
let rt: Runtime;
let inst: TestInstance;
beforeAll(async () => {
  rt = await testRuntime();
  inst = await testInstance(rt, 'Self service');
});
afterAll(async () => {
  await rt.close();
});

test('a user changes their own names, phone and language; the phone becomes unverified; nobody else may', async () => {
  const c = contexts(rt, inst);
  const { id } = await createHumanUser(c.system(), {
    orgId: inst.orgId,
    username: 'ada',
    email: 'ada@example.test',
    emailVerified: true,
    givenName: 'Ada',
    phone: '+41 1',
  });
  await inst.scope.table('users').where({ id }).update({ phone_verified: true });
  await updateOwnProfile(c.as(id, inst.orgId), id, { givenName: ' Augusta ', familyName: 'King', preferredLanguage: 'de', phone: '+41 2', displayName: '' });
  expect(await getUser(inst.scope, id)).toMatchObject({
    given_name: 'Augusta',
    family_name: 'King',
    preferred_language: 'de',
    phone: '+41 2',
    phone_verified: false,
    display_name: null,
    username: 'ada',
    email: 'ada@example.test',
    email_verified: true,
  });
  expect(await lastEvent(inst)).toMatchObject({ type: 'user.profile.changed', actor_id: id });
  await expect(updateOwnProfile(c.as(id, inst.orgId), id, { preferredLanguage: 'not a tag!' })).rejects.toMatchObject({ code: 'invalid_input' });
  // Another user, or a manager through this door: refused (managers use the API's profile change).
  await expect(updateOwnProfile(c.admin(), id, { givenName: 'Mallory' })).rejects.toMatchObject({ code: 'permission_denied' });
  expect((await getUser(inst.scope, id))!.given_name).toBe('Augusta');
});
