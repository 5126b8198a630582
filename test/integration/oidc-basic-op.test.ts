import type { Runtime } from '../../src/runtime/index.js';
import { testInstance, testRuntime, type TestInstance } from '../support/runtime.js';
import { clockReaches } from '../support/eventually.js';
import {
  addApp,
  addHuman,
  addProject,
  authorize,
  client,
  discover,
  formsOf,
  serveApp,
  localRequest,
  login,
  type AppFixture,
  type RpClient,
} from '../support/rp.js';

let rt: Runtime;
let server: { port: number; close: () => Promise<void> };
let inst: TestInstance;
let app: AppFixture;
let user: Awaited<ReturnType<typeof addHuman>>;
let issuer: string;
let rp: RpClient;
let config: client.Configuration;

beforeAll(async () => {
  rt = await testRuntime();
  server = await serveApp(rt);
  inst = await testInstance(rt, 'Basic OP');
  const project = await addProject(inst.scope, inst.orgId);
  app = await addApp(rt, inst.scope, project.projectId);
  user = await addHuman(rt, inst.scope, inst.orgId);
  issuer = `http://${inst.domain}:${server.port}`;
  rp = { issuer, clientId: app.clientId, clientSecret: app.clientSecret, redirectUri: app.redirectUri };
  config = await discover(rp);
});
afterAll(async () => {
  await server.close();
  await rt.close();
});

describe('discovery', () => {
  test('is valid and its issuer equals the base URL', async () => {
    const meta = config.serverMetadata();
    expect(meta.issuer).toBe(issuer);
    expect(meta.authorization_endpoint).toBe(`${issuer}/auth`);
    expect(meta.code_challenge_methods_supported).toEqual(['S256']);
    expect(meta.response_types_supported).toEqual(['code']);
    expect(meta.authorization_response_iss_parameter_supported).toBe(true);
    const jwks = JSON.parse((await localRequest(new URL(meta.jwks_uri!))).body);
    expect(jwks.keys).toHaveLength(1);
    expect(jwks.keys[0]).not.toHaveProperty('d');
  });
});

const creds = () => ({ loginName: user.loginName, password: user.password });

async function tokenRequest(params: Record<string, string>) {
  const res = await localRequest(new URL(`${issuer}/token`), {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `Basic ${Buffer.from(`${encodeURIComponent(app.clientId)}:${encodeURIComponent(app.clientSecret!)}`).toString('base64')}`,
    },
    body: new URLSearchParams(params).toString(),
  });
  return { status: res.status, body: JSON.parse(res.body) };
}

async function userinfoStatus(accessToken: string): Promise<number> {
  return (await localRequest(new URL(`${issuer}/me`), { headers: { authorization: `Bearer ${accessToken}` } })).status;
}

describe('the code flow', () => {
  test('with a nonce: the nonce is echoed, auth_time is present, iss is in the response (RFC 9207)', async () => {
    const { tokens, nonce, callback } = await login(config, rp, creds());
    expect(callback!.searchParams.get('iss')).toBe(issuer);
    const claims = tokens.claims()!;
    expect(claims.sub).toBe(user.userId);
    expect(claims.nonce).toBe(nonce);
    expect(claims.iss).toBe(issuer);
    expect(claims.aud).toBe(app.clientId);
    expect(typeof claims.auth_time).toBe('number');
  });

  test('without a nonce', async () => {
    const { tokens } = await login(config, rp, { ...creds(), nonce: false });
    expect(tokens.claims()!.nonce).toBeUndefined();
    expect(tokens.access_token).toBeTruthy();
  });

  test('a wrong password keeps the user on the password page and issues no code', async () => {
    const out = await authorize(config, rp, { loginName: user.loginName, password: 'wrong' });
    expect(out.callback).toBeUndefined();
    expect(out.page!.status).toBe(400);
    expect(out.page!.body).toContain('Password is invalid');
  });
});

describe('userinfo', () => {
  let accessToken: string;
  beforeAll(async () => {
    accessToken = (await login(config, rp, { ...creds(), scope: 'openid profile email' })).tokens.access_token;
  });

  test('by GET with the token in the header', async () => {
    const info = await client.fetchUserInfo(config, accessToken, user.userId);
    expect(info).toMatchObject({ sub: user.userId, email: `${user.username}@example.com`, email_verified: true, given_name: 'Given' });
    expect(info.preferred_username).toBe(
      `${user.username}@${(await inst.scope.table('org_domains').where({ org_id: inst.orgId, is_primary: true }).first()).domain}`,
    );
  });

  test('by POST with the token in the header', async () => {
    const res = await localRequest(new URL(`${issuer}/me`), { method: 'POST', headers: { authorization: `Bearer ${accessToken}` } });
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body).sub).toBe(user.userId);
  });

  test('by POST with the token in the body', async () => {
    const res = await localRequest(new URL(`${issuer}/me`), {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `access_token=${encodeURIComponent(accessToken)}`,
    });
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body).sub).toBe(user.userId);
  });

  test('refuses a made-up token', async () => {
    expect(await userinfoStatus('not-a-token')).toBe(401);
  });
});

describe('prompt and max_age', () => {
  test('prompt=login forces a new login even with a session', async () => {
    const first = await login(config, rp, creds());
    const again = await authorize(config, rp, { browser: first.browser, params: { prompt: 'login' } });
    expect(again.callback).toBeUndefined();
    expect(again.page!.body).toContain('name="loginName"');
    const done = await login(config, rp, { ...creds(), browser: first.browser, params: { prompt: 'login' } });
    expect(done.tokens.claims()!.sub).toBe(user.userId);
  });

  test('prompt=none without a session gives login_required', async () => {
    const out = await authorize(config, rp, { params: { prompt: 'none' } });
    expect(out.callback!.searchParams.get('error')).toBe('login_required');
    expect(out.callback!.searchParams.get('code')).toBeNull();
  });

  test('prompt=none with a session succeeds without any page', async () => {
    const first = await login(config, rp, creds());
    const out = await authorize(config, rp, { browser: first.browser, params: { prompt: 'none' } });
    expect(out.callback!.searchParams.get('code')).toBeTruthy();
  });

  test('max_age=1 forces a new login once a second has passed', async () => {
    const first = await login(config, rp, creds());
    // The session must be older than max_age in whole seconds (now - auth_time > 1): wait for
    // the clock to reach auth_time + 2, which is between one and two seconds from now.
    await clockReaches(((first.tokens.claims()!.auth_time as number) + 2) * 1000);
    const out = await authorize(config, rp, { browser: first.browser, params: { max_age: '1' } });
    expect(out.callback).toBeUndefined();
    expect(out.page!.body).toContain('name="loginName"');
    const done = await login(config, rp, { ...creds(), browser: first.browser, params: { max_age: '1' } });
    expect(done.tokens.claims()!.auth_time).toBeGreaterThan(first.tokens.claims()!.auth_time as number);
  });

  test('id_token_hint is honoured: the hinted user with a session passes prompt=none', async () => {
    const first = await login(config, rp, creds());
    const out = await authorize(config, rp, { browser: first.browser, params: { prompt: 'none', id_token_hint: first.tokens.id_token! } });
    expect(out.callback!.searchParams.get('code')).toBeTruthy();
    // A hint for another user than the session's is not satisfied silently.
    const other = await addHuman(rt, inst.scope, inst.orgId);
    const otherLogin = await login(config, rp, { loginName: other.loginName, password: other.password });
    const mismatch = await authorize(config, rp, { browser: first.browser, params: { prompt: 'none', id_token_hint: otherLogin.tokens.id_token! } });
    expect(mismatch.callback!.searchParams.get('error')).toBe('login_required');
  });
});

describe('codes', () => {
  test('a code is used once; a second use is invalid_grant and revokes what the first use issued', async () => {
    const out = await authorize(config, rp, creds());
    const params = {
      grant_type: 'authorization_code',
      code: out.callback!.searchParams.get('code')!,
      redirect_uri: app.redirectUri,
      code_verifier: out.codeVerifier,
    };
    const first = await tokenRequest(params);
    expect(first.status).toBe(200);
    expect(await userinfoStatus(first.body.access_token)).toBe(200);
    const second = await tokenRequest(params);
    expect(second.status).toBe(400);
    expect(second.body.error).toBe('invalid_grant');
    expect(await userinfoStatus(first.body.access_token)).toBe(401);
  });
});

describe('redirect_uri', () => {
  test('an unregistered one shows an error page and never redirects', async () => {
    const out = await authorize(config, { ...rp, redirectUri: 'https://evil.example/cb' }, creds());
    expect(out.callback).toBeUndefined();
    expect(out.page!.status).toBe(400);
    expect(out.page!.headers.location).toBeUndefined();
    expect(out.page!.headers['content-type']).toContain('text/html');
    expect(out.page!.body).toContain('redirect_uri');
  });
});

describe('refresh tokens', () => {
  test('are issued only with offline_access', async () => {
    const { tokens } = await login(config, rp, creds());
    expect(tokens.refresh_token).toBeUndefined();
  });

  test('rotate on every use, and reuse of a rotated one revokes the family', async () => {
    const { tokens } = await login(config, rp, { ...creds(), scope: 'openid offline_access' });
    expect(tokens.refresh_token).toBeTruthy();
    const rotated = await client.refreshTokenGrant(config, tokens.refresh_token!);
    expect(rotated.refresh_token).toBeTruthy();
    expect(rotated.refresh_token).not.toBe(tokens.refresh_token);
    expect(await userinfoStatus(rotated.access_token)).toBe(200);
    // The rotation is older than the instance's reuse grace (a few seconds; see the refresh-rotation tests).
    await inst.scope
      .table('oidc_payloads')
      .where({ model: 'RefreshToken' })
      .whereNotNull('consumed_at')
      .update({ consumed_at: inst.scope.expression("consumed_at - interval '1 minute'") });
    const reuse = await tokenRequest({ grant_type: 'refresh_token', refresh_token: tokens.refresh_token! });
    expect(reuse.body.error).toBe('invalid_grant');
    // The whole family is gone: the newest refresh token and its access token too.
    const after = await tokenRequest({ grant_type: 'refresh_token', refresh_token: rotated.refresh_token! });
    expect(after.body.error).toBe('invalid_grant');
    expect(await userinfoStatus(rotated.access_token)).toBe(401);
  });
});

describe('PKCE', () => {
  test('a wrong verifier fails', async () => {
    const out = await authorize(config, rp, creds());
    const res = await tokenRequest({
      grant_type: 'authorization_code',
      code: out.callback!.searchParams.get('code')!,
      redirect_uri: app.redirectUri,
      code_verifier: client.randomPKCECodeVerifier(),
    });
    expect(res.body.error).toBe('invalid_grant');
  });

  test('a missing verifier fails', async () => {
    const out = await authorize(config, rp, creds());
    const res = await tokenRequest({ grant_type: 'authorization_code', code: out.callback!.searchParams.get('code')!, redirect_uri: app.redirectUri });
    expect(res.body.error).toBe('invalid_grant');
  });

  test('a verifier without a challenge fails: the request without one is refused', async () => {
    const out = await authorize(config, rp, { ...creds(), omit: ['code_challenge', 'code_challenge_method'] });
    expect(out.callback!.searchParams.get('error')).toBe('invalid_request');
    expect(out.callback!.searchParams.get('code')).toBeNull();
  });

  test('plain is refused', async () => {
    const verifier = client.randomPKCECodeVerifier();
    const out = await authorize(config, rp, { ...creds(), params: { code_challenge: verifier, code_challenge_method: 'plain' } });
    expect(out.callback!.searchParams.get('error')).toBe('invalid_request');
    expect(out.callback!.searchParams.get('code')).toBeNull();
  });
});

describe('response modes', () => {
  test('form_post answers with a page that posts code, state and iss to the redirect URI, and the code is redeemable', async () => {
    const first = await login(config, rp, creds());
    const codeVerifier = client.randomPKCECodeVerifier();
    const state = client.randomState();
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: rp.redirectUri,
      scope: 'openid',
      state,
      response_mode: 'form_post',
      code_challenge: await client.calculatePKCECodeChallenge(codeVerifier),
      code_challenge_method: 'S256',
    });
    const page = await first.browser.navigate(url, {}, rp.redirectUri);
    // A page, never a redirect carrying the code in the URL.
    if ('redirectedTo' in page) throw new Error(`expected the form_post page, got a redirect to ${page.redirectedTo}`);
    expect(page.status).toBe(200);
    const form = formsOf(page).find((f) => f.action.href === rp.redirectUri)!;
    expect(form.method.toLowerCase()).toBe('post');
    expect(form.fields).toEqual({ code: expect.any(String), state, iss: issuer });
    const posted = new Request(rp.redirectUri, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(form.fields).toString(),
    });
    const tokens = await client.authorizationCodeGrant(config, posted, { pkceCodeVerifier: codeVerifier, expectedState: state, idTokenExpected: true });
    expect(tokens.claims()!.sub).toBe(user.userId);
  });
});

describe('logout', () => {
  test('with an id_token_hint ends the session and returns to the registered post_logout_redirect_uri', async () => {
    const first = await login(config, rp, creds());
    const endUrl = client.buildEndSessionUrl(config, {
      id_token_hint: first.tokens.id_token!,
      post_logout_redirect_uri: app.postLogoutRedirectUri,
      state: 'bye',
    });
    const confirm = await first.browser.navigate(endUrl);
    if ('redirectedTo' in confirm) throw new Error('expected a confirmation page');
    const form = formsOf(confirm).find((f) => f.action.pathname.endsWith('/session/end/confirm'))!;
    const done = await first.browser.navigate(form.action, { form: { ...form.fields, logout: 'yes' } }, app.postLogoutRedirectUri);
    expect('redirectedTo' in done && done.redirectedTo.searchParams.get('state')).toBe('bye');
    const silent = await authorize(config, rp, { browser: first.browser, params: { prompt: 'none' } });
    expect(silent.callback!.searchParams.get('error')).toBe('login_required');
  });

  test('a wrong post_logout_redirect_uri is not followed', async () => {
    const first = await login(config, rp, creds());
    const endUrl = client.buildEndSessionUrl(config, { id_token_hint: first.tokens.id_token!, post_logout_redirect_uri: 'https://evil.example/bye' });
    const res = await first.browser.navigate(endUrl);
    expect('redirectedTo' in res).toBe(false);
    const page = res as Awaited<ReturnType<typeof localRequest>>;
    expect(page.status).toBe(400);
    expect(page.headers.location).toBeUndefined();
    expect(page.body).toContain('post_logout_redirect_uri');
  });
});

describe('consent', () => {
  test('is skipped for first-party apps and asked for otherwise', async () => {
    const project = await addProject(inst.scope, inst.orgId);
    const thirdParty = await addApp(rt, inst.scope, project.projectId, { skipConsent: false });
    const tp = { issuer, clientId: thirdParty.clientId, clientSecret: thirdParty.clientSecret, redirectUri: thirdParty.redirectUri };
    const tpConfig = await discover(tp);
    const first = await authorize(tpConfig, tp, { ...creds(), consent: false });
    expect(first.page!.body).toMatch(/\/consent"/);
    // The walker submits the consent form like a user pressing "Allow".
    const out = await authorize(tpConfig, tp, creds());
    expect(out.callback!.searchParams.get('code')).toBeTruthy();
    const asked = await authorize(tpConfig, tp, { params: { prompt: 'consent' }, browser: out.browser, consent: false });
    expect(asked.callback).toBeUndefined();
    expect(asked.page!.body).toMatch(/\/consent"/);
    // The first-party app of the same user passes without a consent page.
    const firstParty = await authorize(config, rp, { browser: out.browser, params: { prompt: 'none' } });
    expect(firstParty.callback!.searchParams.get('code')).toBeTruthy();
  });
});

describe('refresh token lifetimes', () => {
  test('never outlive the absolute lifetime of their family', async () => {
    const local = await testInstance(rt, 'RT life');
    const project = await addProject(local.scope, local.orgId);
    const localApp = await addApp(rt, local.scope, project.projectId);
    const localUser = await addHuman(rt, local.scope, local.orgId);
    await local.scope.table('instances').update({ refresh_token_idle_s: 3600, refresh_token_absolute_s: 2 });
    await rt.deps.changes.publish(local.instanceId);
    const localRp = {
      issuer: `http://${local.domain}:${server.port}`,
      clientId: localApp.clientId,
      clientSecret: localApp.clientSecret,
      redirectUri: localApp.redirectUri,
    };
    const localConfig = await discover(localRp);
    const { tokens } = await login(localConfig, localRp, { loginName: localUser.loginName, password: localUser.password, scope: 'openid offline_access' });
    expect(tokens.refresh_token).toBeTruthy();
    // The family's absolute lifetime is 2 s from when the tokens were issued: wait for that moment
    // (the refresh token was issued no later than the ID token's iat), not a guess past it.
    await clockReaches(((tokens.claims()!.iat as number) + 2) * 1000);
    await expect(client.refreshTokenGrant(localConfig, tokens.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
  });
});

describe('refused flows', () => {
  test('implicit and hybrid response types are refused', async () => {
    for (const responseType of ['id_token', 'id_token token', 'code id_token']) {
      const url = new URL(`${issuer}/auth`);
      url.search = new URLSearchParams({
        client_id: app.clientId,
        redirect_uri: app.redirectUri,
        response_type: responseType,
        scope: 'openid',
        nonce: 'n',
        state: 's',
        code_challenge: await client.calculatePKCECodeChallenge(client.randomPKCECodeVerifier()),
        code_challenge_method: 'S256',
      }).toString();
      const res = await localRequest(url);
      const location = new URL(res.headers.location!);
      const params = new URLSearchParams(location.hash ? location.hash.slice(1) : location.search);
      expect(params.get('error')).toBe('unsupported_response_type');
      expect(params.get('access_token')).toBeNull();
      expect(params.get('id_token')).toBeNull();
    }
  });

  test('the password grant is refused', async () => {
    const res = await tokenRequest({ grant_type: 'password', username: user.loginName, password: user.password });
    expect(res.status).toBe(400);
    expect(res.body.error).toBe('unsupported_grant_type');
  });
});
