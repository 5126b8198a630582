import Provider from 'oidc-provider';
import type { Knex } from 'knex';
import type { Logger } from 'pino';
import { Scope } from '../db/scope.js';
import type { InstanceRow } from '../domain/instance/repository.js';
import type { Config } from '../config/schema.js';
import type { PasswordHasher, SecretBox } from '../shared/crypto.js';
import type { Metrics } from '../shared/metrics.js';
import type { RedisClient } from '../shared/redis.js';
import { AccessTokenJwts } from './access-token-jwt.js';
import { findAccountFor } from './account-lookup.js';
import { adapterFactory } from './adapter.js';
import type { ClaimsCache } from './claims-cache.js';
import { audienceProjects, isAudienceScope, isReservedScope } from './claims.js';
import { ClientDirectory } from './clients.js';
import type { LRUCache } from 'lru-cache';
import { clientUseCheckFor, type ClientUseCheck } from './client-use.js';
import { providerConfiguration, STATIC_SCOPES } from './configuration.js';
import type { DurableCache } from './durable-cache.js';
import { builtInClientSecret } from './builtin-clients.js';
import { issueRefreshToken, loadExistingGrantFor } from './grants.js';
import { interactionPolicyFor, type InteractionHooks } from './interactions.js';
import { idTokenAudiences, recogniseScopes, releaseClaimsWithPrefix, verifyClientSecretsWith } from './internals.js';
import { introspectionAllowed, introspectionAsZitadel } from './introspection.js';
import { JWT_BEARER } from './jwt-bearer.js';
import { activeSigningAlg, providerJwks, type SigningKeyRow } from './keys.js';
import { recordSessionDevices, signJwtAccessTokens, unknownRoutesAsOidcErrors } from './provider-middleware.js';
import { rememberDiscovery } from './discovery-cache.js';
import { SettingsCache } from './settings-cache.js';
import { CachedSignInReads, type SignInReads } from '../domain/sign-in-reads.js';
import { extraTokenClaimsFor } from './token-extras.js';
import { answerUnavailable } from './unavailable.js';

/**
 * One oidc-provider per (instance, origin): its configuration (configuration.ts) assembled from
 * the instance's clients, keys and settings, the few patches oidc-provider needs (internals.ts),
 * and the middleware that runs inside it (provider-middleware.ts). Built by the pool (pool.ts).
 */

export interface ProviderDeps {
  knex: Knex;
  redis?: RedisClient;
  metrics?: Metrics;
  box: SecretBox;
  hasher: PasswordHasher;
  config: Config;
  log: Logger;
  durableCache?: DurableCache;
  claimsCache?: ClaimsCache;
  /** successful client secret checks, one cache for all providers of the process (clients.ts) */
  verifiedSecrets?: LRUCache<string, true>;
  /** the login module's part (src/app.ts hands it in); without it, oidc-provider's plain pages */
  interactions?: InteractionHooks;
}

export interface InstanceProvider {
  instanceId: string;
  issuer: string;
  provider: any;
  handle: (req: any, res: any) => Promise<void>;
  clients: ClientDirectory;
  accessTokens: AccessTokenJwts;
  cookieKey: string;
  scope: Scope;
  /** the login's reads of settings (policies, branding, orgs, IdPs), kept until a change notice drops this provider */
  signIn: SignInReads;
  /** the client-use rule with its project checks in the claims cache (client-use.ts) */
  clientUse: ClientUseCheck;
}

export function buildProvider(deps: ProviderDeps, instance: InstanceRow, keys: SigningKeyRow[], origin: string): InstanceProvider {
  const instanceId = instance.id;
  const scope = new Scope(deps.knex, instanceId);
  const alg = activeSigningAlg(keys);
  const clients = new ClientDirectory(
    scope,
    deps.hasher,
    () => alg,
    { origin, secret: (id) => builtInClientSecret(deps.box, instanceId, id) },
    deps.metrics,
    deps.verifiedSecrets,
  );
  // Org and project settings for claims; dropped with this provider on a change notice.
  const settings = new SettingsCache(scope, deps.metrics);
  const accessTokens = new AccessTokenJwts(origin, keys, deps.box);
  const cookieKey = deps.config.oidc.cookieKeys[0] ?? deps.box.derive(`cookies:${instanceId}`);
  const findClient = (id: string) => clients.find(id);
  const clientUse = clientUseCheckFor(scope, deps.claimsCache);

  const provider = new Provider(
    origin,
    providerConfiguration({
      instanceId,
      lifetimes: instance,
      adapter: adapterFactory({
        knex: deps.knex,
        redis: deps.redis,
        instanceId,
        clients: findClient,
        durableCache: deps.durableCache,
        refreshReuseGraceS: () => instance.refresh_token_reuse_grace_s,
        metrics: deps.metrics,
      }),
      jwks: providerJwks(keys, deps.box),
      cookieKeys: deps.config.oidc.cookieKeys.length ? deps.config.oidc.cookieKeys : [cookieKey],
      secure: origin.startsWith('https:'),
      findAccount: findAccountFor(scope, settings, clientUse, deps.claimsCache),
      loadExistingGrant: loadExistingGrantFor(scope, clientUse),
      issueRefreshToken,
      extraTokenClaims: extraTokenClaimsFor(scope, settings, deps.claimsCache),
      introspectionAllowed: (ctx, client, token) => introspectionAllowed(findClient, clientUse, ctx, client, token),
      interactionPolicy: interactionPolicyFor(scope, deps.interactions),
      interactions: deps.interactions,
      log: deps.log,
    }),
  );

  provider.proxy = deps.config.server.trustedProxies.length > 0;
  verifyClientSecretsWith(provider, (clientId, presented) => clients.verifySecret(clientId, presented));
  releaseClaimsWithPrefix(provider, 'urn:zitadel:');
  // With a project audience scope, the ID token names the projects too (the client's own first), as ZITADEL's does.
  idTokenAudiences(provider, (client, scopes) =>
    scopes.some(isAudienceScope) ? audienceProjects(scopes, client.tessera_project_id as string | undefined) : [],
  );
  const statics = new Set<string>(STATIC_SCOPES);
  recogniseScopes(provider, (s) => statics.has(s) || isReservedScope(s));
  // The JWT bearer grant is answered before the provider (jwt-bearer.ts); registering it only
  // advertises it in discovery, this handler is never reached.
  provider.registerGrantType(JWT_BEARER, async () => {
    throw new Error('answered by src/oidc/jwt-bearer.ts');
  }, ['assertion', 'scope']);
  // Outermost, so it keeps the document as it leaves the provider.
  provider.use(rememberDiscovery);
  provider.use(signJwtAccessTokens(accessTokens));
  provider.use(introspectionAsZitadel(scope, findClient, deps.claimsCache));
  provider.use(unknownRoutesAsOidcErrors);
  provider.use(recordSessionDevices(scope, deps.log));
  provider.on('server_error', (_ctx: any, err: Error) => deps.log.error({ err, instanceId }, 'oidc server error'));
  // Infrastructure failures answer 503 temporarily_unavailable with Retry-After, never server_error or an auth failure.
  answerUnavailable.install(provider);
  if (deps.metrics) {
    const metrics = deps.metrics;
    provider.on('grant.success', (ctx: any) => metrics.tokenIssued(String(ctx.oidc?.params?.grant_type ?? '')));
  }

  const signIn = new CachedSignInReads(scope, deps.metrics);
  return { instanceId, issuer: origin, provider, handle: provider.callback(), clients, accessTokens, cookieKey, scope, signIn, clientUse };
}
