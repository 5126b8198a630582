import http from 'node:http';
import * as client from 'openid-client';
import { listen, localFetch } from '../support/rp.js';

/**
 * A real web application signing its users in with Tessera: openid-client, code flow with PKCE,
 * on a local HTTP server. GET /login sends the browser to the instance; GET /callback exchanges
 * the code with the app's client secret and shows the ID token's claims (and keeps them for the
 * test). It knows only what an admin copies out of the console: issuer, client ID and secret.
 */
export interface WebApp {
  /** the redirect URI to register in the console, before the app is configured */
  redirectUri: string;
  loginUrl: string;
  configure(issuer: string, clientId: string, clientSecret: string): Promise<void>;
  /** the claims of the last ID token the app received */
  claims(): Record<string, unknown> | undefined;
  close(): Promise<void>;
}

export async function startWebApp(scope = 'openid email profile'): Promise<WebApp> {
  let config: client.Configuration | undefined;
  let pending: { state: string; verifier: string; nonce: string } | undefined;
  let last: Record<string, unknown> | undefined;
  let base = '';
  const server = http.createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', base);
      if (url.pathname === '/login' && config) {
        pending = { state: client.randomState(), verifier: client.randomPKCECodeVerifier(), nonce: client.randomNonce() };
        const to = client.buildAuthorizationUrl(config, {
          redirect_uri: `${base}/callback`,
          scope,
          state: pending.state,
          nonce: pending.nonce,
          code_challenge: await client.calculatePKCECodeChallenge(pending.verifier),
          code_challenge_method: 'S256',
        });
        res.writeHead(302, { location: to.href }).end();
      } else if (url.pathname === '/callback' && config && pending) {
        const tokens = await client.authorizationCodeGrant(config, url, {
          pkceCodeVerifier: pending.verifier,
          expectedState: pending.state,
          expectedNonce: pending.nonce,
        });
        last = tokens.claims() as Record<string, unknown>;
        pending = undefined;
        const body = `<!doctype html><html lang="en"><title>Web app</title><h1>Signed in to the web app</h1><pre id="claims">${escape(JSON.stringify(last, null, 2))}</pre></html>`;
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(body);
      } else {
        res.writeHead(404).end('not found');
      }
    })().catch((err: Error) => {
      res.writeHead(500, { 'content-type': 'text/plain' }).end(`the app's sign-in failed: ${err.message}`);
    });
  });
  const { port, close } = await listen(server);
  base = `http://localhost:${port}`;
  return {
    redirectUri: `${base}/callback`,
    loginUrl: `${base}/login`,
    async configure(issuer, clientId, clientSecret) {
      config = await client.discovery(new URL(issuer), clientId, undefined, client.ClientSecretBasic(clientSecret), {
        [client.customFetch]: localFetch,
        execute: [client.allowInsecureRequests],
      });
    },
    claims: () => last,
    close,
  };
}

function escape(s: string): string {
  return s.replace(/[&<>]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;' })[c]!);
}
