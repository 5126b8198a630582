/**
 * One seeded instance of the benchmark, as its clients see it: its host, discovery, the ids the
 * scenarios need, and a signed-in user's access token. Built for the small instance every scenario
 * shares, and again for the large one.
 */
import { discover, login } from '../test/support/rp.js';
import { API_CLIENT, CALLER, MACHINE, REDIRECT_URI, WEB_CLIENT, type Secrets } from './seed.js';
import { basic, call, discovery, FORM, instanceRequest, withDatabase, type Discovery, type Tessera } from './harness.js';
import type { LoadRequest } from './report.js';
import type { SigninAccount, SigninSpec } from './signin.js';

export const ROLES_CLAIM = 'urn:zitadel:iam:org:project:roles';
export const audienceScope = (projectId: string) => `urn:zitadel:iam:org:project:id:${projectId}:aud`;

export interface BenchInstance {
  id: string;
  /** the instance's host as clients name it */
  host: string;
  issuer: string;
  discovery: Discovery;
  projectId: string;
  secrets: Secrets;
  accounts: SigninAccount[];
  /** an access token of a signed-in user (scope openid profile email), for userinfo and introspection */
  userToken: string;
}

/** Ids the scenarios need, read straight from the database: the instance by its domain, its Bench project. */
export async function instanceIds(domain: string): Promise<{ id: string; projectId: string }> {
  return withDatabase(async (c) => {
    const { rows } = await c.query(
      `SELECT d.instance_id AS id, p.id AS project_id FROM instance_domains d
       JOIN projects p ON p.instance_id = d.instance_id AND p.name = 'Bench' WHERE d.domain = $1`,
      [domain],
    );
    if (!rows.length) throw new Error(`no instance with a Bench project at ${domain}`);
    return { id: rows[0].id as string, projectId: rows[0].project_id as string };
  });
}

export async function openInstance(tessera: Tessera, host: string, secrets: Secrets, accounts: SigninAccount[]): Promise<BenchInstance> {
  const issuer = `http://${host}:${tessera.port}`;
  const ids = await instanceIds(host);
  const rp = { issuer, clientId: WEB_CLIENT, clientSecret: secrets.webSecret, redirectUri: REDIRECT_URI };
  const { tokens } = await login(await discover(rp), rp, { loginName: accounts[0].loginName, password: accounts[0].password, scope: 'openid profile email' });
  return { ...ids, host, issuer, discovery: await discovery(issuer), secrets, accounts, userToken: tokens.access_token };
}

/** The requests the token scenarios measure on an instance. */
export function tokenRequests(
  tessera: Tessera,
  inst: BenchInstance,
  audienceToken: string,
): Record<'clientCredentialsAudience' | 'clientCredentials' | 'userinfo' | 'introspection' | 'introspectionAudience', LoadRequest> {
  const path = (url: string) => new URL(url).pathname;
  const machine = basic(MACHINE, inst.secrets.machineSecret);
  const api = basic(API_CLIENT, inst.secrets.apiSecret);
  const token = (body: string) =>
    instanceRequest(tessera, inst.host, path(inst.discovery.token_endpoint), {
      method: 'POST',
      body,
      headers: { 'content-type': FORM, authorization: machine },
    });
  const introspect = (t: string) =>
    instanceRequest(tessera, inst.host, path(inst.discovery.introspection_endpoint), {
      method: 'POST',
      body: new URLSearchParams({ token: t }).toString(),
      headers: { 'content-type': FORM, authorization: api },
    });
  return {
    clientCredentialsAudience: token(new URLSearchParams({ grant_type: 'client_credentials', scope: `openid ${audienceScope(inst.projectId)}` }).toString()),
    clientCredentials: token('grant_type=client_credentials'),
    userinfo: instanceRequest(tessera, inst.host, path(inst.discovery.userinfo_endpoint), { headers: { authorization: `Bearer ${inst.userToken}` } }),
    introspection: introspect(inst.userToken),
    introspectionAudience: introspect(audienceToken),
  };
}

/** A client_credentials token for the project's audience, which the project's API app must see as active, with roles. */
export async function audienceToken(inst: BenchInstance): Promise<string> {
  const res = await call(inst.discovery.token_endpoint, {
    method: 'POST',
    headers: { 'content-type': FORM, authorization: basic(MACHINE, inst.secrets.machineSecret) },
    body: new URLSearchParams({ grant_type: 'client_credentials', scope: `openid ${audienceScope(inst.projectId)}` }).toString(),
  });
  if (res.status !== 200 || !res.body?.access_token) throw new Error(`client_credentials with the audience scope: ${res.status} ${res.text}`);
  return res.body.access_token as string;
}

/** Sends a request once, as the load would; the answer when it is 200, an error otherwise. */
export async function once(r: LoadRequest): Promise<Record<string, any>> {
  const url = new URL(r.url);
  const host = r.headers?.host;
  if (host) url.host = host;
  const { host: _h, ...headers } = r.headers ?? {};
  const res = await call(url, { method: r.method, headers, body: r.body });
  if (res.status !== 200) throw new Error(`${r.method ?? 'GET'} ${url}: ${res.status} ${res.text.slice(0, 300)}`);
  return (res.body ?? {}) as Record<string, any>;
}

/**
 * One request of each kind, before the load and after it: figures for error responses, or for
 * answers lighter than real use, would mean nothing, so a failed check stops the run.
 */
export async function checkTokenRequests(reqs: ReturnType<typeof tokenRequests>): Promise<void> {
  const cc = await once(reqs.clientCredentialsAudience);
  if (!cc.access_token) throw new Error('client_credentials with the audience scope: no access token');
  if (!(await once(reqs.clientCredentials)).access_token) throw new Error('client_credentials: no access token');
  const userinfo = await once(reqs.userinfo);
  if (!userinfo.sub || !userinfo[ROLES_CLAIM]) throw new Error(`userinfo without sub or roles: ${JSON.stringify(userinfo)}`);
  if ((await once(reqs.introspection)).active !== true) throw new Error('introspection of the user token: not active');
  const aud = await once(reqs.introspectionAudience);
  // The API app of the project must see the machine's audience token as active, with its roles.
  if (aud.active !== true || !aud[ROLES_CLAIM]) throw new Error(`introspection of the audience token by the API app: ${JSON.stringify(aud)}`);
}

/** What bench/signin-load.ts needs to sign in to this instance's web app. */
export function signinSpec(inst: BenchInstance, opts: Pick<SigninSpec, 'concurrency' | 'duration' | 'warmup' | 'single'>): SigninSpec {
  return {
    issuer: inst.issuer,
    clientId: WEB_CLIENT,
    clientSecret: inst.secrets.webSecret,
    redirectUri: REDIRECT_URI,
    scope: 'openid profile email',
    accounts: inst.accounts,
    ...opts,
  };
}

/** A personal access token of bench-caller (ORG_OWNER), made through the Management API itself. */
export async function callerPat(inst: BenchInstance): Promise<string> {
  const cc = await call(inst.discovery.token_endpoint, {
    method: 'POST',
    headers: { 'content-type': FORM, authorization: basic(CALLER, inst.secrets.callerSecret) },
    body: new URLSearchParams({ grant_type: 'client_credentials', scope: 'openid urn:zitadel:iam:org:project:id:zitadel:aud' }).toString(),
  });
  if (cc.status !== 200) throw new Error(`bench-caller token: ${cc.status} ${cc.text}`);
  const auth = { authorization: `Bearer ${cc.body.access_token}` };
  const found = await call(`${inst.issuer}/management/v1/users?username=${CALLER}`, { headers: auth });
  const me = (found.body?.result as { id: string; username: string }[] | undefined)?.find((u) => u.username === CALLER);
  if (!me) throw new Error(`bench-caller not found: ${found.status} ${found.text}`);
  const pat = await call(`${inst.issuer}/management/v1/users/${me.id}/pats`, { method: 'POST', headers: auth, json: {} });
  if (pat.status !== 200 && pat.status !== 201) throw new Error(`PAT: ${pat.status} ${pat.text}`);
  return pat.body.token as string;
}
