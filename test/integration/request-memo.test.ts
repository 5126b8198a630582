import { loginWorld, LoginSession, type LoginWorld } from './login-support.js';
import { addHuman } from '../support/rp.js';
import { memoized, requestMemo } from '../../src/db/request-memo.js';
import { getUser } from '../../src/domain/user/repository.js';

/**
 * A user is read by id at most once per HTTP request (src/db/request-memo.ts), however many of
 * oidc-provider's hooks ask; a write in the same request is seen, and the next request reads again.
 */
let w: LoginWorld;
let home: string;
beforeAll(async () => {
  w = await loginWorld('Memo');
  home = (await w.inst.scope.table('org_domains').where({ org_id: w.inst.orgId, is_primary: true }).first()).domain;
});
afterAll(async () => {
  await w.close();
});

const BY_ID = /^select \* from "users" where "users"\."instance_id" = \$1 and "id" = \$2/;

async function byIdReads<T>(run: () => Promise<T>): Promise<number> {
  let n = 0;
  const count = (q: { sql: string }) => {
    if (BY_ID.test(q.sql)) n++;
  };
  w.rt.db.knex.on('query', count);
  try {
    await run();
  } finally {
    w.rt.db.knex.off('query', count);
  }
  return n;
}

test('a sign-in reads its user by id once when it finishes and once at the token endpoint', async () => {
  const u = await addHuman(w.rt, w.inst.scope, w.inst.orgId, { username: `memo${Date.now()}` });
  const s = await new LoginSession(w).start();
  await s.submit('/loginname', { loginName: `${u.username}@${home}` });
  // The password POST and GET /auth/{uid}: loadExistingGrant and the login's end share one read (two before).
  expect(await byIdReads(() => s.submit('/password', { password: u.password }))).toBe(1);
  let sub = '';
  // The token request reads the user afresh (a lock at token time must count: security-token-recheck).
  expect(await byIdReads(async () => (sub = (await s.tokens()).sub))).toBe(1);
  expect(sub).toBe(u.userId);
});

test('within a request, a write to users forgets what was read; outside one, nothing is kept', async () => {
  const u = await addHuman(w.rt, w.inst.scope, w.inst.orgId, { username: `memo2${Date.now()}` });
  const scope = w.inst.scope;
  const read = () => memoized(scope, 'users', u.userId, () => getUser(scope, u.userId));
  const states: string[] = [];
  await requestMemo()(undefined, async () => {
    const reads = await byIdReads(async () => {
      states.push((await read())!.state);
      states.push((await read())!.state);
    });
    expect(reads).toBe(1);
    await scope.table('users').where({ id: u.userId }).update({ state: 'locked' });
    states.push((await read())!.state);
  });
  expect(states).toEqual(['active', 'active', 'locked']);
  expect(await byIdReads(async () => (await read(), await read()))).toBe(2);
});
