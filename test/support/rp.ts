import http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as client from 'openid-client';
import type { Runtime } from '../../src/runtime/index.js';
import { createApp, type TesseraApp } from '../../src/app.js';
import type { Scope } from '../../src/db/scope.js';
import { newId, newSecret } from '../../src/shared/ids.js';

/**
 * A relying party for tests: openid-client (v6) against a running Tessera, plus a tiny
 * browser (cookie jar, manual redirects, form submission) that walks the login pages.
 * Instances are found by host, so every request goes to 127.0.0.1:{port} while the URL (and
 * Host header) keeps the instance's domain, e.g. http://i123.test:54321.
 */

export interface HttpResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
  url: URL;
}

/** fetch-like request to the local server whatever the hostname says. */
export function localRequest(url: URL, init: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<HttpResponse> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: url.hostname,
        port: url.port,
        path: url.pathname + url.search,
        method: init.method ?? 'GET',
        headers: { ...(init.body !== undefined ? { 'content-length': String(Buffer.byteLength(init.body)) } : {}), ...init.headers },
        lookup: ((_h: string, opts: { all?: boolean }, cb: (...a: unknown[]) => void) =>
          opts?.all ? cb(null, [{ address: '127.0.0.1', family: 4 }]) : cb(null, '127.0.0.1', 4)) as never,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8'), url }));
      },
    );
    req.on('error', reject);
    if (init.body !== undefined) req.write(init.body);
    req.end();
  });
}

/** The customFetch openid-client uses: same local routing, returned as a Fetch Response. */
export const localFetch: client.CustomFetch = async (input, options) => {
  const headers: Record<string, string> = {};
  new Headers(options.headers as HeadersInit).forEach((v, k) => {
    headers[k] = v;
  });
  const body = options.body === undefined || options.body === null ? undefined : String(options.body);
  const res = await localRequest(new URL(input), { method: options.method, headers, body });
  const out = new Headers();
  for (const [k, v] of Object.entries(res.headers)) {
    if (Array.isArray(v)) v.forEach((x) => out.append(k, x));
    else if (v !== undefined) out.set(k, String(v));
  }
  return new Response(res.status === 204 || res.status === 304 ? null : res.body, { status: res.status, headers: out });
};

export interface Cookie {
  name: string;
  value: string;
  path: string;
  host: string;
}

/** Cookies by host and path; enough of RFC 6265 for the provider's session and interaction cookies. */
export class Browser {
  cookies: Cookie[] = [];

  private store(url: URL, setCookie: string[] | undefined): void {
    for (const line of setCookie ?? []) {
      const [pair, ...attrs] = line.split(';').map((s) => s.trim());
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq);
      const value = pair.slice(eq + 1);
      const attr = (n: string) =>
        attrs
          .find((a) => a.toLowerCase().startsWith(`${n}=`))
          ?.split('=')
          .slice(1)
          .join('=');
      const path = attr('path') ?? '/';
      const expires = attr('expires');
      const gone = attr('max-age') === '0' || (expires !== undefined && new Date(expires).getTime() < Date.now()) || value === '';
      this.cookies = this.cookies.filter((c) => !(c.name === name && c.path === path && c.host === url.host));
      if (!gone) this.cookies.push({ name, value, path, host: url.host });
    }
  }

  cookieHeader(url: URL): string {
    return this.cookies
      .filter((c) => c.host === url.host && url.pathname.startsWith(c.path))
      .map((c) => `${c.name}=${c.value}`)
      .join('; ');
  }

  find(name: string): Cookie | undefined {
    return this.cookies.find((c) => c.name === name);
  }

  async request(url: URL, init: { method?: string; form?: Record<string, string> | [string, string][] } = {}): Promise<HttpResponse> {
    const headers: Record<string, string> = { accept: 'text/html' };
    const cookie = this.cookieHeader(url);
    if (cookie) headers.cookie = cookie;
    let body: string | undefined;
    if (init.form) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      body = new URLSearchParams(init.form).toString();
    }
    const res = await localRequest(url, { method: init.method ?? (init.form ? 'POST' : 'GET'), headers, body });
    this.store(url, res.headers['set-cookie']);
    return res;
  }

  /** Follows redirects until a page is shown or the location starts with `stopAt` (the redirect URI). */
  async navigate(
    url: URL,
    init: { method?: string; form?: Record<string, string> | [string, string][] } = {},
    stopAt?: string,
  ): Promise<HttpResponse | { redirectedTo: URL }> {
    let res = await this.request(url, init);
    for (let hops = 0; res.status >= 300 && res.status < 400 && res.headers.location; hops++) {
      if (hops > 20) throw new Error('too many redirects');
      const next = new URL(res.headers.location, res.url);
      if (stopAt && next.href.startsWith(stopAt)) return { redirectedTo: next };
      res = await this.request(next);
    }
    return res;
  }
}

export interface HtmlForm {
  action: URL;
  method: string;
  fields: Record<string, string>;
}

/** The forms of a page, with their hidden and prefilled inputs (no HTML parser needed for our views). */
export function formsOf(page: HttpResponse): HtmlForm[] {
  const forms: HtmlForm[] = [];
  for (const m of page.body.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form>/g)) {
    const attr = (src: string, n: string) => new RegExp(`${n}="([^"]*)"`).exec(src)?.[1];
    const fields: Record<string, string> = {};
    for (const input of m[2].matchAll(/<input\b([^>]*)>/g)) {
      const name = attr(input[1], 'name');
      if (name) fields[name] = decodeEntities(attr(input[1], 'value') ?? '');
    }
    forms.push({ action: new URL(decodeEntities(attr(m[1], 'action') ?? ''), page.url), method: attr(m[1], 'method') ?? 'get', fields });
  }
  return forms;
}

function decodeEntities(s: string): string {
  return s
    .replace(/&#3[49];/g, (e) => (e === '&#34;' ? '"' : "'"))
    .replace(/&quot;/g, '"')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}

export interface RpClient {
  issuer: string;
  clientId: string;
  clientSecret?: string;
  redirectUri: string;
  /** 'client_secret_basic' (default when a secret is given), 'client_secret_post' or 'none' */
  auth?: 'client_secret_basic' | 'client_secret_post' | 'none';
}

export async function discover(rp: Omit<RpClient, 'redirectUri'> & { redirectUri?: string }): Promise<client.Configuration> {
  const auth =
    rp.auth === 'none' || !rp.clientSecret
      ? client.None()
      : rp.auth === 'client_secret_post'
        ? client.ClientSecretPost(rp.clientSecret)
        : client.ClientSecretBasic(rp.clientSecret);
  const config = await client.discovery(new URL(rp.issuer), rp.clientId, undefined, auth, {
    [client.customFetch]: localFetch,
    execute: [client.allowInsecureRequests],
  });
  return config;
}

export interface LoginOptions {
  loginName?: string;
  password?: string;
  scope?: string;
  params?: Record<string, string>;
  nonce?: boolean;
  browser?: Browser;
  /** authorization parameters to leave out (e.g. code_challenge, to test PKCE enforcement) */
  omit?: string[];
  /** false: stop at a consent page instead of allowing */
  consent?: boolean;
}

export interface AuthorizationOutcome {
  browser: Browser;
  /** the redirect back to the client, when there was one */
  callback?: URL;
  /** the page the flow stopped at otherwise (an error page, a login page for prompt=none misuse…) */
  page?: HttpResponse;
  codeVerifier: string;
  state: string;
  nonce?: string;
}

/**
 * Starts an authorization request and walks the login pages (login name, then password,
 * then any consent) until the provider redirects back to the client.
 */
export async function authorize(config: client.Configuration, rp: RpClient, opts: LoginOptions = {}): Promise<AuthorizationOutcome> {
  const browser = opts.browser ?? new Browser();
  const codeVerifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const nonce = opts.nonce === false ? undefined : client.randomNonce();
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: rp.redirectUri,
    scope: opts.scope ?? 'openid',
    state,
    code_challenge: await client.calculatePKCECodeChallenge(codeVerifier),
    code_challenge_method: 'S256',
    ...(nonce ? { nonce } : {}),
    ...opts.params,
  });
  for (const name of opts.omit ?? []) url.searchParams.delete(name);
  let step = await browser.navigate(url, {}, rp.redirectUri);
  // Pages answering 4xx (wrong password, unknown user, refused login) end the walk there.
  for (let i = 0; i < 6 && !('redirectedTo' in step) && step.status < 400; i++) {
    const form = formsOf(step).find((f) => f.method.toLowerCase() === 'post' && !f.action.pathname.endsWith('/abort'));
    if (!form) break;
    const fields = { ...form.fields };
    // Without credentials the walk stops at the page that asks for them.
    if (form.action.pathname.endsWith('/loginname')) {
      if (opts.loginName === undefined) break;
      fields.loginName = opts.loginName;
    }
    if (form.action.pathname.endsWith('/password')) {
      if (opts.password === undefined) break;
      fields.password = opts.password;
    }
    if (form.fields.logout !== undefined || form.action.pathname.includes('/session/end')) break;
    if (form.action.pathname.endsWith('/consent') && opts.consent === false) break;
    step = await browser.navigate(form.action, { form: fields }, rp.redirectUri);
  }
  return 'redirectedTo' in step ? { browser, callback: step.redirectedTo, codeVerifier, state, nonce } : { browser, page: step, codeVerifier, state, nonce };
}

/** authorize() and then the token request: the whole code flow with PKCE. */
export async function login(config: client.Configuration, rp: RpClient, opts: LoginOptions = {}) {
  const outcome = await authorize(config, rp, opts);
  if (!outcome.callback) throw new Error(`login did not return to the client: ${outcome.page?.status} ${outcome.page?.body.slice(0, 500)}`);
  const tokens = await client.authorizationCodeGrant(config, outcome.callback, {
    pkceCodeVerifier: outcome.codeVerifier,
    expectedState: outcome.state,
    expectedNonce: outcome.nonce,
    idTokenExpected: true,
  });
  return { ...outcome, tokens };
}

/** A server on an ephemeral port; returns the port and a close function. */
export async function listen(server: http.Server): Promise<{ port: number; close: () => Promise<void> }> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    port,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * Tessera on an ephemeral port, built by the composition root. close() stops the server and
 * releases what the app holds; the runtime stays with its owner.
 */
export async function serveApp(rt: Runtime): Promise<{ port: number; app: TesseraApp; close: () => Promise<void> }> {
  const app = createApp(rt);
  const served = await listen(http.createServer(app.callback()));
  return {
    port: served.port,
    app,
    close: async () => {
      await served.close();
      await app.close();
    },
  };
}

export { client };

// ---- Fixtures: rows the flows need, written directly (the services are tested elsewhere) ----

export interface ProjectFixture {
  projectId: string;
  orgId: string;
}

export async function addProject(
  scope: Scope,
  orgId: string,
  opts: { name?: string; roleAssertion?: boolean; roleCheck?: boolean; hasProjectCheck?: boolean; roles?: string[] } = {},
): Promise<ProjectFixture> {
  const projectId = newId();
  await scope.insert('projects', {
    id: projectId,
    org_id: orgId,
    name: opts.name ?? `P${projectId}`,
    project_role_assertion: opts.roleAssertion ?? false,
    project_role_check: opts.roleCheck ?? false,
    has_project_check: opts.hasProjectCheck ?? false,
  });
  for (const key of opts.roles ?? []) await scope.insert('project_roles', { project_id: projectId, key, display_name: key });
  return { projectId, orgId };
}

export interface AppFixture {
  appId: string;
  clientId: string;
  clientSecret?: string;
  redirectUri: string;
  postLogoutRedirectUri: string;
}

export async function addApp(
  rt: Runtime,
  scope: Scope,
  projectId: string,
  opts: {
    type?: 'web' | 'user_agent' | 'native' | 'api';
    auth?: 'client_secret_basic' | 'client_secret_post' | 'none' | 'private_key_jwt';
    grantTypes?: string[];
    skipConsent?: boolean;
    idTokenRoleAssertion?: boolean;
    idTokenUserinfoAssertion?: boolean;
    accessTokenRoleAssertion?: boolean;
    jwks?: { keys: unknown[] };
    accessTokenType?: 'jwt' | 'opaque';
  } = {},
): Promise<AppFixture> {
  const appId = newId();
  const clientId = `${appId}@tessera`;
  const auth = opts.auth ?? 'client_secret_basic';
  const clientSecret = auth.startsWith('client_secret') ? newSecret(24) : undefined;
  const redirectUri = `https://rp-${appId}.example/cb`;
  const postLogoutRedirectUri = `https://rp-${appId}.example/logged-out`;
  await scope.insert('applications', {
    id: appId,
    project_id: projectId,
    name: `App ${appId}`,
    client_id: clientId,
    client_secret_hash: clientSecret ? await rt.deps.hasher.hash(clientSecret) : null,
    app_type: opts.type ?? 'web',
    auth_method: auth,
    redirect_uris: JSON.stringify([redirectUri]),
    post_logout_redirect_uris: JSON.stringify([postLogoutRedirectUri]),
    grant_types: JSON.stringify(opts.grantTypes ?? ['authorization_code', 'refresh_token']),
    skip_consent: opts.skipConsent ?? true,
    id_token_role_assertion: opts.idTokenRoleAssertion ?? false,
    id_token_userinfo_assertion: opts.idTokenUserinfoAssertion ?? false,
    access_token_role_assertion: opts.accessTokenRoleAssertion ?? false,
    jwks: opts.jwks ? JSON.stringify(opts.jwks) : null,
    access_token_type: opts.accessTokenType ?? 'jwt',
  });
  return { appId, clientId, clientSecret, redirectUri, postLogoutRedirectUri };
}

export async function addHuman(
  rt: Runtime,
  scope: Scope,
  orgId: string,
  opts: { username?: string; password?: string; email?: string; givenName?: string; familyName?: string; phone?: string } = {},
) {
  const userId = newId();
  const username = opts.username ?? `u${userId}`;
  const password = opts.password ?? 'Secr3t-Passw0rd!';
  await scope.insert('users', {
    id: userId,
    org_id: orgId,
    type: 'human',
    username,
    state: 'active',
    email: opts.email ?? `${username}@example.com`,
    email_verified: true,
    phone: opts.phone ?? null,
    given_name: opts.givenName ?? 'Given',
    family_name: opts.familyName ?? 'Family',
    display_name: `${opts.givenName ?? 'Given'} ${opts.familyName ?? 'Family'}`,
    password_hash: await rt.deps.hasher.hash(password),
    password_changed_at: new Date(),
  });
  const domain = await scope.table('org_domains').where({ org_id: orgId, is_primary: true }).first('domain');
  return { userId, username, password, loginName: `${username}@${domain.domain}` };
}

export async function addMachine(rt: Runtime, scope: Scope, orgId: string, opts: { username?: string } = {}) {
  const userId = newId();
  const username = opts.username ?? `m${userId}`;
  const clientSecret = newSecret(24);
  await scope.insert('users', {
    id: userId,
    org_id: orgId,
    type: 'machine',
    username,
    state: 'active',
    name: username,
    client_secret_hash: await rt.deps.hasher.hash(clientSecret),
  });
  return { userId, username, clientId: username, clientSecret };
}

export async function addOrg(scope: Scope, name: string, domain: string): Promise<string> {
  const orgId = newId();
  await scope.insert('orgs', { id: orgId, name });
  await scope.insert('org_domains', { org_id: orgId, domain, is_verified: true, is_primary: true });
  return orgId;
}

export async function grantRoles(scope: Scope, userId: string, projectId: string, orgId: string, roleKeys: string[], projectGrantId?: string): Promise<string> {
  const id = newId();
  await scope.insert('user_grants', {
    id,
    user_id: userId,
    project_id: projectId,
    org_id: orgId,
    project_grant_id: projectGrantId ?? null,
    role_keys: roleKeys,
  });
  return id;
}
