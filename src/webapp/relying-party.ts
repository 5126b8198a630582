import inject from 'light-my-request';
import { LRUCache } from 'lru-cache';
import * as oidc from 'openid-client';
import { builtInClientSecret, builtInRedirects, type BuiltInClientId } from '../oidc/builtin-clients.js';
import { browserSessionId } from '../oidc/internals.js';
import type { ProviderPool } from '../oidc/pool.js';
import type { SecretBox } from '../shared/crypto.js';

/**
 * One of Tessera's web apps (the console, the account page) as a relying party of its own
 * instance: code flow with PKCE through the instance's login pages, so the user's login policy
 * and MFA apply. openid-client does the protocol; its requests (discovery, token) are dispatched
 * into the instance's provider in-process, so the app needs no network route to itself (behind a
 * proxy, its public origin may not be reachable from inside) and its client secret never leaves
 * the process.
 */
export interface PendingSignIn {
  state: string;
  nonce: string;
  verifier: string;
  returnTo: string;
  exp: number;
}

export interface SignedIn {
  userId: string;
  sid?: string;
  /** when the user last authenticated (the ID token's auth_time), for actions that need a fresh sign-in */
  authTime?: number;
  idToken: string;
}

export class BuiltInRelyingParty {
  private readonly configs = new LRUCache<string, Promise<oidc.Configuration>>({ max: 1000, ttl: 10 * 60_000 });

  constructor(
    private readonly pool: ProviderPool,
    private readonly box: SecretBox,
    readonly clientId: BuiltInClientId,
  ) {}

  private fetchInto(instanceId: string, origin: string): oidc.CustomFetch {
    return async (url, options) => {
      const target = new URL(url);
      if (target.origin !== origin) throw new Error(`${this.clientId} talks only to its own provider, not ${target.origin}`);
      const provider = await this.pool.get(instanceId, origin);
      const headers: Record<string, string> = {};
      new Headers(options.headers as HeadersInit).forEach((v, k) => {
        headers[k] = v;
      });
      const res = await inject(
        (req, res) => {
          void provider.handle(req, res);
        },
        {
          method: options.method ?? 'GET',
          url: `${target.pathname}${target.search}`,
          headers: { ...headers, host: target.host, 'x-forwarded-proto': target.protocol.slice(0, -1) },
          ...(options.body !== undefined && options.body !== null ? { payload: String(options.body) } : {}),
        },
      );
      const out = new Headers();
      for (const [k, v] of Object.entries(res.headers)) {
        if (Array.isArray(v)) v.forEach((x) => out.append(k, x));
        else if (v !== undefined) out.set(k, String(v));
      }
      return new Response(res.statusCode === 204 || res.statusCode === 304 ? null : res.payload, { status: res.statusCode, headers: out });
    };
  }

  private config(instanceId: string, origin: string): Promise<oidc.Configuration> {
    const key = `${instanceId}|${origin}`;
    let entry = this.configs.get(key);
    if (!entry) {
      const secret = builtInClientSecret(this.box, instanceId, this.clientId);
      entry = oidc.discovery(new URL(origin), this.clientId, undefined, oidc.ClientSecretBasic(secret), {
        [oidc.customFetch]: this.fetchInto(instanceId, origin),
        ...(origin.startsWith('http:') ? { execute: [oidc.allowInsecureRequests] } : {}),
      });
      entry.catch(() => {
        if (this.configs.get(key) === entry) this.configs.delete(key);
      });
      this.configs.set(key, entry);
    }
    return entry;
  }

  /** Starts a sign-in: what to remember until the callback, and where to send the browser. */
  async begin(
    instanceId: string,
    origin: string,
    returnTo: string,
    lang?: string,
    extra: Record<string, string> = {},
  ): Promise<{ pending: PendingSignIn; url: string }> {
    const config = await this.config(instanceId, origin);
    const pending: PendingSignIn = {
      state: oidc.randomState(),
      nonce: oidc.randomNonce(),
      verifier: oidc.randomPKCECodeVerifier(),
      returnTo,
      exp: Date.now() + 30 * 60_000,
    };
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: builtInRedirects(this.clientId, origin).redirectUri,
      scope: 'openid profile',
      state: pending.state,
      nonce: pending.nonce,
      code_challenge: await oidc.calculatePKCECodeChallenge(pending.verifier),
      code_challenge_method: 'S256',
      ...(lang ? { ui_locales: lang } : {}),
      ...extra,
    });
    return { pending, url: url.href };
  }

  /** The callback: checks state, exchanges the code (PKCE, nonce, ID token claims), answers who signed in. */
  async complete(instanceId: string, origin: string, callbackUrl: URL, pending: PendingSignIn): Promise<SignedIn> {
    const config = await this.config(instanceId, origin);
    const tokens = await oidc.authorizationCodeGrant(config, callbackUrl, {
      pkceCodeVerifier: pending.verifier,
      expectedState: pending.state,
      expectedNonce: pending.nonce,
      idTokenExpected: true,
    });
    const claims = tokens.claims()!;
    return {
      userId: claims.sub,
      sid: typeof claims.sid === 'string' ? claims.sid : undefined,
      authTime: typeof claims.auth_time === 'number' ? claims.auth_time : undefined,
      idToken: tokens.id_token!,
    };
  }

  /**
   * The per-client sid of this app in the browser's sign-in session. ID tokens carry no sid (no
   * back-channel logout here), so it is read from the session the provider's cookie names: it ties
   * the app's session to the sign-in session, and ending that one ends this one.
   */
  async sidOfBrowserSession(instanceId: string, origin: string, http: { req: unknown; res: unknown }, userId: string): Promise<string | undefined> {
    const { provider } = await this.pool.get(instanceId, origin);
    const id = browserSessionId(provider, http.req, http.res);
    const session = id ? await provider.Session.find(id) : undefined;
    if (!session || session.accountId !== userId) return undefined;
    return (session.authorizations as Record<string, { sid?: string }> | undefined)?.[this.clientId]?.sid;
  }

  /** RP-initiated logout at the provider, back to the app's signed-out page. */
  async endSessionUrl(instanceId: string, origin: string, idToken?: string): Promise<string> {
    const config = await this.config(instanceId, origin);
    return oidc.buildEndSessionUrl(config, {
      post_logout_redirect_uri: builtInRedirects(this.clientId, origin).postLogoutRedirectUri,
      ...(idToken ? { id_token_hint: idToken } : { client_id: this.clientId }),
    }).href;
  }
}
