import { startTs, stopAll, freePort, runJson } from '../../bench/processes.js';
import { BARE_CLIENT, type BareSigninSetup, type SigninResult, type SigninSpec } from '../../bench/signin.js';

/**
 * The benchmark's yardstick must stay a fair one: the bare provider's userinfo token has to
 * survive the thousands of client_credentials tokens issued before it is used (oidc-provider's
 * own memory adapter is a two-generation LRU of 1000 entries, so about 2000 later tokens evict it
 * and leave 401s to measure).
 */
describe('the bare oidc-provider of npm run bench', () => {
  afterAll(() => stopAll());

  it('keeps its userinfo token valid after thousands of client_credentials tokens', async () => {
    const port = await freePort();
    const bare = startTs('bench/bare-provider.ts', [String(port)], { NODE_ENV: 'production' });
    const ready = JSON.parse(await bare.waitFor(/"ready":true/, 60_000)) as { issuer: string; accessToken: string };
    expect(ready.issuer).toBe(`http://127.0.0.1:${port}`);
    const basic = `Basic ${Buffer.from('bench:bench-secret-bench-secret-bench-secret').toString('base64')}`;
    for (let batch = 0; batch < 25; batch++) {
      await Promise.all(
        Array.from({ length: 100 }, async () => {
          const res = await fetch(`${ready.issuer}/token`, {
            method: 'POST',
            headers: { authorization: basic, 'content-type': 'application/x-www-form-urlencoded' },
            body: 'grant_type=client_credentials',
          });
          expect(res.status).toBe(200);
        }),
      );
    }
    const userinfo = await fetch(`${ready.issuer}/me`, { headers: { authorization: `Bearer ${ready.accessToken}` } });
    expect(userinfo.status).toBe(200);
    expect(await userinfo.json()).toEqual({ sub: 'bench-user' });
    const introspection = await fetch(`${ready.issuer}/token/introspection`, {
      method: 'POST',
      headers: { authorization: basic, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: ready.accessToken }).toString(),
    });
    expect(await introspection.json()).toMatchObject({ active: true, sub: 'bench-user' });
    await bare.stop();
    expect(bare.child.exitCode !== null || bare.child.signalCode !== null).toBe(true);
  }, 90_000);
});

/**
 * The sign-in floor (bench/bare-signin.ts) must be walked by the same load generator as Tessera,
 * through the same steps, and must really verify the password: a wrong one finishes no sign-in.
 */
describe('the bare sign-in of npm run bench', () => {
  afterAll(() => stopAll());

  it('signs in through the same steps as Tessera, and only with the right password', async () => {
    const port = await freePort();
    const setup: BareSigninSetup = { password: 'Bench-correct-horse-9a!', params: { memoryCost: 8192, timeCost: 1, parallelism: 1 } };
    const bare = startTs('bench/bare-signin.ts', [String(port)], { NODE_ENV: 'production', BARE_SIGNIN: JSON.stringify(setup) });
    const { issuer } = JSON.parse(await bare.waitFor(/"ready":true/, 60_000)) as { issuer: string };
    const spec = (password: string): SigninSpec => ({
      issuer,
      clientId: BARE_CLIENT.id,
      clientSecret: BARE_CLIENT.secret,
      redirectUri: BARE_CLIENT.redirectUri,
      scope: 'openid',
      accounts: [{ loginName: 'someone', password }],
      concurrency: 1,
      duration: 0,
      warmup: 0,
      single: 2,
    });
    const ok = await runJson<SigninResult>('bench/signin-load.ts', spec(setup.password), 60_000);
    expect(ok.failures).toBe(0);
    expect(ok.single.map((s) => s.step)).toEqual([
      'GET /auth',
      'GET /ui/login/:uid',
      'POST /ui/login/:uid/loginname',
      'POST /ui/login/:uid/password',
      'GET /auth/:uid',
      'POST /token',
    ]);
    const wrong = await runJson<SigninResult>('bench/signin-load.ts', spec('not-the-password'), 60_000);
    expect(wrong.failures).toBe(2);
    expect(wrong.firstFailure).toMatch(/^401 at \/ui\/login\/[^/]+\/password/);
    await bare.stop();
  }, 90_000);
});
