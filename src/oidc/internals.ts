import Provider from 'oidc-provider';

/**
 * Every use of oidc-provider beyond its documented configuration and API, in one place. Each is
 * here for a reason oidc-provider's options cannot express; each names what it relies on, so an
 * upgrade of oidc-provider checks this file first (test/integration/oidc-*.test.ts cover them all).
 */

/**
 * Client secrets are stored argon2id-hashed, which oidc-provider cannot compare (it compares the
 * registered secret as a string). Clients carry an unusable placeholder secret (clients.ts), and
 * Client.prototype.compareClientSecret, which client authentication calls, asks `verify` instead.
 * Relies on: Client.prototype.compareClientSecret(actual) → Promise<boolean>.
 */
export function verifyClientSecretsWith(provider: any, verify: (clientId: string, presented: string) => Promise<boolean>): void {
  provider.Client.prototype.compareClientSecret = function compareClientSecret(this: { clientId: string }, actual: string) {
    return verify(this.clientId, actual);
  };
}

/**
 * ZITADEL's reserved claims carry dynamic names (urn:zitadel:iam:org:project:{id}:roles), which a
 * static claims table cannot list, so oidc-provider's claims mask would drop them. claims.ts has
 * already released them by scope, so claims with this prefix pass the mask.
 * Relies on: Claims.prototype.result() and the instance's `available` claims.
 */
export function releaseClaimsWithPrefix(provider: any, prefix: string): void {
  const baseResult = provider.Claims.prototype.result;
  provider.Claims.prototype.result = async function result(this: { available: Record<string, unknown> }) {
    const claims = await baseResult.call(this);
    for (const [k, v] of Object.entries(this.available)) if (k.startsWith(prefix)) claims[k] = v;
    return claims;
  };
}

/**
 * oidc-provider drops requested scopes it does not list in `scopes`; ZITADEL's reserved scopes are
 * dynamic (…:role:{key}, …:org:id:{id}), so scopes `recognised` accepts count as listed too.
 * Relies on: the OIDCContext.prototype.requestParamOIDCScopes getter and ctx.oidc.params.scope.
 */
export function recogniseScopes(provider: any, recognised: (scope: string) => boolean): void {
  Object.defineProperty(provider.OIDCContext.prototype, 'requestParamOIDCScopes', {
    configurable: true,
    get(this: { params: { scope?: string } }) {
      return new Set<string>((this.params.scope?.split(' ') ?? []).filter(recognised));
    },
  });
}

/**
 * The provider's cookie jar for a request of Tessera's own Koa app: mounted inside another app, the
 * provider's cookies would come out unsigned, so the login pages and the provider share its jar
 * (its keys, its signing). Relies on: Provider extends Koa (createContext(req, res).cookies).
 */
export function providerCookies(provider: any, req: unknown, res: unknown): unknown {
  return provider.createContext(req, res).cookies;
}

/**
 * The id of the browser's sign-in session, from the provider's signed session cookie, for pages
 * mounted outside the provider's context (the web apps). Relies on cookieName('session').
 */
export function browserSessionId(provider: any, req: unknown, res: unknown): string | undefined {
  const cookies = providerCookies(provider, req, res) as { get(name: string, opts: { signed: boolean }): string | undefined };
  return cookies.get(provider.cookieName('session'), { signed: true }) || undefined;
}

/**
 * Tessera's own state of a login in progress (org discovered, factors passed, a pending IdP
 * login…), kept on oidc-provider's Interaction so it expires with it and is bound to it.
 * Relies on: interactionDetails() returning the Interaction model, its `result` and persist().
 */
export function interactionState<T extends object>(details: any): Partial<T> {
  return (details.result?.tessera ?? {}) as Partial<T>;
}

export async function saveInteractionState<T extends object>(details: any, patch: Partial<T>): Promise<void> {
  details.result = { ...(details.result ?? {}), tessera: { ...interactionState<T>(details), ...patch } };
  await details.persist();
}

/**
 * provider.interactionResult without finding the interaction again (a Redis read and its parse):
 * the request's own, loaded through interactionDetails and checked against its cookie when the
 * request began (src/login/interaction.ts), takes the result and is saved.
 * Relies on: interactionResult's body (lib/provider.js): the result merged over lastSubmission
 * unless it is an error, saved for what is left of its lifetime (persist), returnTo.
 */
export async function saveInteractionResult(details: any, result: Record<string, unknown>, merge: boolean): Promise<string> {
  details.result = merge && !('error' in result) ? { ...details.lastSubmission, ...result } : result;
  await details.persist();
  return details.returnTo;
}

/**
 * The JWT bearer grant (jwt-bearer.ts) is answered before the provider, which would otherwise
 * authenticate the client. The token it mints is the provider's own ClientCredentials model (same
 * storage, lifetime and introspection), and an assertion's jti is checked with the provider's
 * replay detection. Relies on: provider.ClientCredentials, provider.ReplayDetection.unique().
 */
export async function mintClientCredentials(provider: any, client: unknown, scope: string | undefined): Promise<{ value: string; token: any }> {
  const token = new provider.ClientCredentials({ client, scope });
  return { value: await token.save(), token };
}

export async function assertionIsFresh(provider: any, issuer: string, jti: string, exp: number | undefined): Promise<boolean> {
  return provider.ReplayDetection.unique(issuer, jti, exp);
}

/**
 * The request oidc-provider is answering in this async context (Provider.ctx, its
 * AsyncLocalStorage), for adapters that must know which grant is writing. refresh-rotation.ts
 * also relies on the order in which the refresh_token grant (lib/actions/grants/refresh_token.js)
 * writes: consume the presented token, save its successor, save the access token; see there.
 */
export function currentProviderRequest(): any {
  return (Provider as unknown as { ctx?: unknown }).ctx;
}

/**
 * ID tokens name more audiences than the client when `audiences` says so (ZITADEL's project
 * audience scope), with `azp` the client, as OpenID Connect Core 2 asks of several audiences.
 * oidc-provider signs an ID token for `client.clientId` alone, so for that one signature the
 * token's client is seen through an object whose clientId is the list.
 * Relies on: IdToken.prototype.issue({ use: 'idtoken' }) reading `this.client.clientId` as the
 * audience, `this.scope` (the token's scopes) and set() for extra claims.
 */
export function idTokenAudiences(provider: any, audiences: (client: any, scopes: string[]) => string[]): void {
  const baseIssue = provider.IdToken.prototype.issue;
  provider.IdToken.prototype.issue = async function issue(this: any, opts: { use?: string }) {
    const client = this.client;
    const extra =
      opts?.use === 'idtoken' && client
        ? audiences(
            client,
            String(this.scope ?? '')
              .split(' ')
              .filter(Boolean),
          )
        : [];
    if (extra.length === 0) return baseIssue.call(this, opts);
    this.set('azp', client.clientId);
    this.client = Object.create(client, { clientId: { value: [client.clientId, ...extra.filter((a) => a !== client.clientId)] } });
    try {
      return await baseIssue.call(this, opts);
    } finally {
      this.client = client;
    }
  };
}
