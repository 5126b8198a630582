import { loginWorld, LoginSession, type LoginWorld } from './login-support.js';
import { addApp, addHuman, addProject, Browser, discover, grantRoles, login } from '../support/rp.js';

/**
 * What a sign-in asks of PostgreSQL, request by request (the sign-in benchmark's "DB
 * queries per sign-in"; docs/benchmark.md). Only the reads this file is about are counted: other
 * runs sharing Redis announce changes that refill per-process caches at any time.
 */
let w: LoginWorld;
beforeAll(async () => {
  w = await loginWorld('Queries');
});
afterAll(async () => {
  await w.close();
});

/**
 * The SQL of each HTTP request of the flow (redirects followed, so each request is its own entry);
 * `mark` starts an entry for requests made without the browser (the code exchange).
 */
async function sqlPerRequest(run: (mark: (label: string) => void) => Promise<unknown>): Promise<Map<string, string[]>> {
  const seen: [string, string[]][] = [];
  const mark = (label: string) => seen.push([label, []]);
  const onQuery = (q: { sql: string }) => seen.at(-1)?.[1].push(q.sql);
  const label = (url: URL, post: boolean) =>
    `${post ? 'POST' : 'GET'} ${url.pathname.replace(/\/ui\/login\/[^/]+/, '/ui/login/:uid').replace(/^\/auth\/[^/]+/, '/auth/:uid')}`;
  const request = Browser.prototype.request;
  Browser.prototype.request = function (this: Browser, url: URL, init?: { form?: unknown }) {
    seen.push([label(url, Boolean(init?.form)), []]);
    return request.call(this, url, init as never);
  };
  w.rt.db.knex.on('query', onQuery);
  try {
    await run(mark);
  } finally {
    w.rt.db.knex.off('query', onQuery);
    Browser.prototype.request = request;
  }
  return new Map(seen);
}

const resolvesName = (sql: string) => /from "users"/.test(sql) && /lower\((u\.)?"?(username|email)/.test(sql);
const secondFactors = (sql: string) => /user_totp|user_passkeys/.test(sql);
/** A read of the user row itself (not the states the claims cache keeps, nor the login-name lookup). */
const readsUser = (sql: string) => /^select (\*|"users"\.\*)( |,.* )from "users"/.test(sql);

test.each([
  ['an email', (u: { username: string }) => `${u.username}@example.com`],
  ['username@domain', (u: { loginName: string }) => u.loginName],
])('a sign-in by %s resolves the name in one statement per step; the password step reads the second factors in the same one', async (_kind, typed) => {
  const u = await addHuman(w.rt, w.inst.scope, w.inst.orgId, { username: `q${Date.now()}` });
  let sub = '';
  const sql = await sqlPerRequest(async (mark) => {
    const s = await new LoginSession(w).start({}, 'openid profile email');
    await s.password(typed(u), u.password);
    mark('POST /token');
    sub = (await s.tokens()).sub;
  });
  expect(sub).toBe(u.userId);
  const count = (label: string, kind: (sql: string) => boolean) => (sql.get(label) ?? []).filter(kind).length;
  expect(count('POST /ui/login/:uid/loginname', resolvesName)).toBe(1);
  expect(count('POST /ui/login/:uid/password', resolvesName)).toBe(1);
  expect(count('POST /ui/login/:uid/password', secondFactors)).toBe(1);
  expect(count('POST /ui/login/:uid/password', (q) => resolvesName(q) || secondFactors(q))).toBe(1);
  // Issuing the code reads the user once (the account and the grant policy share the read); so does the code exchange.
  expect(count('GET /auth/:uid', readsUser)).toBe(1);
  expect(count('POST /token', readsUser)).toBe(1);
});

const ROLES = 'urn:zitadel:iam:org:project:roles';
const readsRoles = (sql: string) => /from "user_grants"/.test(sql);

test.each([
  ['asserts roles in the ID token: they are read with the user, in one statement', true],
  ['leaves roles to userinfo: the sign-in never reads them', false],
])('an app that %s', async (_kind, idTokenRoleAssertion) => {
  const project = await addProject(w.inst.scope, w.inst.orgId, { roleAssertion: true, roles: ['reader'] });
  const app = await addApp(w.rt, w.inst.scope, project.projectId, { idTokenRoleAssertion });
  const u = await addHuman(w.rt, w.inst.scope, w.inst.orgId, { username: `r${Date.now()}` });
  await grantRoles(w.inst.scope, u.userId, project.projectId, w.inst.orgId, ['reader']);
  const rp = { issuer: w.issuer, clientId: app.clientId, clientSecret: app.clientSecret, redirectUri: app.redirectUri };
  const config = await discover(rp);
  const seen: string[] = [];
  const onQuery = (q: { sql: string }) => seen.push(q.sql);
  w.rt.db.knex.on('query', onQuery);
  let claims: Record<string, unknown>;
  try {
    claims = (await login(config, rp, { loginName: u.loginName, password: u.password })).tokens.claims()!;
  } finally {
    w.rt.db.knex.off('query', onQuery);
  }
  const roleReads = seen.filter(readsRoles);
  if (idTokenRoleAssertion) {
    expect(claims[ROLES]).toEqual({ reader: { [w.inst.orgId]: expect.any(String) } });
    expect(roleReads).toHaveLength(1);
    expect(roleReads[0]).toMatch(/from "users"/);
  } else {
    expect(claims[ROLES]).toBeUndefined();
    expect(roleReads).toHaveLength(0);
  }
});
