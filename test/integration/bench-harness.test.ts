import { startTs, stopAll, freePort } from '../../bench/processes.js';

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
