import { testRuntime, testInstance, type TestInstance } from '../support/runtime.js';
import type { Runtime } from '../../src/runtime/index.js';
import { eventually } from '../support/eventually.js';
import { client, machineCaller, serve, type Served } from './api-client.js';

/**
 * The API keeps what it knows of a caller (the token's user, their org's state, their
 * memberships) per process; two servers on one runtime stand for two processes here: each has
 * its own cache and its own LISTEN connection. A change made anywhere (through the other
 * process, or by SQL by hand) must stop the caller at once, not after the cache's minute.
 */

let rt: Runtime;
let a: Served;
let b: Served;
let inst: TestInstance;
beforeAll(async () => {
  rt = await testRuntime();
  a = await serve(rt);
  b = await serve(rt);
  inst = await testInstance(rt, 'CallerCache');
});
afterAll(async () => {
  await a.close();
  await b.close();
  await rt.close();
});

/** Several calls, so the caller is surely cached in that process before the change. */
async function warm(port: number, token: string, path: string) {
  for (let i = 0; i < 3; i++) expect((await client(port, inst.domain, token).get(path)).status).toBe(200);
}

test('a token revoked through one process is refused by the other, and by the first at once', async () => {
  const owner = await machineCaller(rt, inst, inst.orgId, [{ level: 'org', roles: ['ORG_OWNER'] }]);
  const bot = await machineCaller(rt, inst, inst.orgId, [{ level: 'org', roles: ['ORG_OWNER'] }]);
  const path = `/management/v1/users/${bot.userId}`;
  await warm(a.port, bot.token, path);
  await warm(b.port, bot.token, path);
  const owners = client(a.port, inst.domain, owner.token);
  const [pat] = (await owners.get(`/management/v1/users/${bot.userId}/pats`)).body;
  expect((await owners.delete(`/management/v1/users/${bot.userId}/pats/${pat.id}`)).status).toBe(204);
  expect((await client(a.port, inst.domain, bot.token).get(path)).status).toBe(401);
  const there = await eventually(
    () => client(b.port, inst.domain, bot.token).get(path),
    (r) => r.status === 401,
  );
  expect(there.status).toBe(401);
});

test('a membership removed and a user deactivated by SQL by hand apply in every process', async () => {
  const bot = await machineCaller(rt, inst, inst.orgId, [{ level: 'org', roles: ['ORG_OWNER'] }]);
  const path = '/management/v1/users?limit=5';
  await warm(a.port, bot.token, path);
  await warm(b.port, bot.token, path);
  await inst.scope.table('memberships').where({ user_id: bot.userId }).delete();
  for (const port of [a.port, b.port]) {
    // Its own org, without the membership: it may not read the users there.
    const r = await eventually(
      () => client(port, inst.domain, bot.token).get(path),
      (res) => res.status === 403,
    );
    expect(r.status).toBe(403);
  }
  await inst.scope.table('users').where({ id: bot.userId }).update({ state: 'inactive' });
  for (const port of [a.port, b.port]) {
    const r = await eventually(
      () => client(port, inst.domain, bot.token).get('/auth/v1/users/me'),
      (res) => res.status === 401,
    );
    expect(r.status).toBe(401);
  }
});

test("a user's login names follow a new verified domain and the domain policy, written by SQL by hand, in every process", async () => {
  const bot = await machineCaller(rt, inst, inst.orgId, [{ level: 'org', roles: ['ORG_OWNER'] }]);
  const path = `/management/v1/users/${bot.userId}`;
  const username: string = (await client(a.port, inst.domain, bot.token).get(path)).body.username;
  await warm(a.port, bot.token, path);
  await warm(b.port, bot.token, path);
  const namesAt = (port: number, ok: (names: string[]) => boolean) =>
    eventually(async () => (await client(port, inst.domain, bot.token).get(path)).body.loginNames as string[], ok);
  const domain = `names-${Date.now()}.example.test`;
  await inst.scope.insert('org_domains', { org_id: inst.orgId, domain, is_verified: true });
  for (const port of [a.port, b.port]) expect(await namesAt(port, (n) => n.includes(`${username}@${domain}`))).toContain(`${username}@${domain}`);
  await inst.scope.insert('policies', { kind: 'domain', org_id: inst.orgId, settings: JSON.stringify({ userLoginMustBeDomain: false }) });
  for (const port of [a.port, b.port]) expect(await namesAt(port, (n) => n.includes(username))).toContain(username);
});

test('a user read through the API follows a change in the other process, by SQL by hand, and a deletion; warm, it costs no query', async () => {
  const owner = await machineCaller(rt, inst, inst.orgId, [{ level: 'org', roles: ['ORG_OWNER'] }]);
  const target = await machineCaller(rt, inst, inst.orgId);
  const path = `/management/v1/users/${target.userId}`;
  await warm(a.port, owner.token, path);
  await warm(b.port, owner.token, path);

  let queries = 0;
  const count = () => queries++;
  rt.db.knex.on('query', count);
  try {
    // The fewest of three: background work (outbox, sweeps) only ever adds queries.
    const tries: number[] = [];
    for (let i = 0; i < 3; i++) {
      queries = 0;
      expect((await client(a.port, inst.domain, owner.token).get(path)).status).toBe(200);
      tries.push(queries);
    }
    expect(Math.min(...tries)).toBe(0);
  } finally {
    rt.db.knex.off('query', count);
  }

  // Changed through process A: A answers with the change at once, B as soon as it hears of it.
  const patched = await client(a.port, inst.domain, owner.token).patch(path, { description: 'through A' });
  expect(patched.status).toBe(200);
  expect((await client(a.port, inst.domain, owner.token).get(path)).body.description).toBe('through A');
  const atB = await eventually(
    () => client(b.port, inst.domain, owner.token).get(path),
    (r) => r.body.description === 'through A',
  );
  expect(atB.body.description).toBe('through A');

  // By hand: both processes, with the new version in the ETag, and the secret hash never shown.
  await inst.scope.table('users').where({ id: target.userId }).update({ description: 'by hand', version: 41 });
  for (const port of [a.port, b.port]) {
    const r = await eventually(
      () => client(port, inst.domain, owner.token).get(path),
      (res) => res.body.description === 'by hand',
    );
    expect(r.body).toMatchObject({ description: 'by hand', version: 41 });
    expect(r.headers.etag).toContain('41');
    expect(JSON.stringify(r.body)).not.toMatch(/hash/i);
  }

  // Deleted by hand: 404 in both.
  await inst.scope.table('users').where({ id: target.userId }).delete();
  for (const port of [a.port, b.port]) {
    const r = await eventually(
      () => client(port, inst.domain, owner.token).get(path),
      (res) => res.status === 404,
    );
    expect(r.status).toBe(404);
  }
});
