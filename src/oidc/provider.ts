import Provider, { errors } from 'oidc-provider';
import type { Knex } from 'knex';
import type { Logger } from 'pino';
import { Scope } from '../db/scope.js';
import type { InstanceRow } from '../domain/instance/repository.js';
import type { Config } from '../config/schema.js';
import type { PasswordHasher, SecretBox } from '../shared/crypto.js';
import type { Metrics } from '../shared/metrics.js';
import type { RedisClient } from '../shared/redis.js';
import { renderPage } from '../ui/render.js';
import { loginInteractionPolicy } from '../login/account-chooser.js';
import { AccessTokenJwts } from './access-token-jwt.js';
import { adapterFactory } from './adapter.js';
import type { ClaimsCache } from './claims-cache.js';
import type { DurableCache } from './durable-cache.js';
import {
  accountClaims, clientInfo, isLoginable, loginRefusal, machineClaims, refusalMessages, rolesToPrefetch, userById,
} from './account.js';
import { isReservedScope, METADATA_SCOPE, PROJECTS_ROLES_SCOPE, RESOURCE_OWNER_SCOPE } from './claims.js';
import { CLIENT_EXTRA, ClientDirectory } from './clients.js';
import { builtInClientSecret } from './builtin-clients.js';
import { SettingsCache } from './settings-cache.js';
import { answerUnavailable } from './unavailable.js';
import { introspectionAllowed } from './introspection.js';
import { JWT_BEARER } from './jwt-bearer.js';
import { activeSigningAlg, providerJwks, type SigningKeyRow } from './keys.js';
import { machineByClientId, userWithRoleGrants } from './repository.js';

/**
 * One oidc-provider per (instance, origin), configured here in one place. Every option that
 * matters is set on purpose; in particular devInteractions is off, every TTL is explicit, DPoP
 * is off (no relying party of ours uses it yet) and PAR is on (harmless, and FAPI-ready).
 */

export interface ProviderDeps {
  knex: Knex; redis?: RedisClient; metrics?: Metrics; box: SecretBox; hasher: PasswordHasher; config: Config; log: Logger; durableCache?: DurableCache; claimsCache?: ClaimsCache;
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
}

const TTL_SHORT = { AuthorizationCode: 60, Interaction: 3600, DeviceCode: 600, BackchannelAuthenticationRequest: 600, PreAuthorizedCode: 300 };
const SESSION_TTL_S = 14 * 86400;
const STATIC_SCOPES = ['openid', 'offline_access', 'profile', 'email', 'phone', PROJECTS_ROLES_SCOPE, METADATA_SCOPE, RESOURCE_OWNER_SCOPE];

export function buildProvider(deps: ProviderDeps, instance: InstanceRow, keys: SigningKeyRow[], origin: string): InstanceProvider {
  const instanceId = instance.id;
  const scope = new Scope(deps.knex, instanceId);
  const alg = activeSigningAlg(keys);
  const clients = new ClientDirectory(scope, deps.hasher, () => alg, { origin, secret: (id) => builtInClientSecret(deps.box, instanceId, id) }, deps.metrics);
  // Org and project settings for claims; dropped with this provider on a change notice.
  const settings = new SettingsCache(scope, deps.metrics);
  const accessTokens = new AccessTokenJwts(origin, keys, deps.box);
  const cookieKey = deps.config.oidc.cookieKeys[0] ?? deps.box.derive(`cookies:${instanceId}`);
  const cookieKeys = deps.config.oidc.cookieKeys.length ? deps.config.oidc.cookieKeys : [cookieKey];
  const secure = origin.startsWith('https:');
  // Lifetimes are read from this row when each token is issued; the pool rebuilds the provider on a change notice.
  const life = instance;

  const provider = new Provider(origin, {
    adapter: adapterFactory({
      knex: deps.knex, redis: deps.redis, instanceId, clients: (id) => clients.find(id), durableCache: deps.durableCache,
      refreshReuseGraceS: () => life.refresh_token_reuse_grace_s, metrics: deps.metrics,
    }),
    clients: [],
    async findAccount(ctx: any, sub: string, token: any) {
      // On userinfo, the roles the response needs are read in the same statement as the user,
      // through the claims cache (invalidated by PostgreSQL on every relevant write).
      const userinfo = ctx?.oidc?.route === 'userinfo';
      const projectIds = userinfo && token?.scope
        ? await rolesToPrefetch(settings, clientInfo(ctx.oidc.client), String(token.scope).split(' ')) : undefined;
      const load = () => userWithRoleGrants(scope, sub, projectIds ?? []);
      const { user, grants } = userinfo && deps.claimsCache ? await deps.claimsCache.read(instanceId, sub, projectIds ?? [], load) : await load();
      if (!isLoginable(user)) return undefined;
      const prefetched = projectIds ? { projectIds, grants } : undefined;
      return {
        accountId: user.id,
        // Read when each ID token or userinfo response is made (on userinfo, with the account): roles and profile are always current.
        async claims(use: string, scopeValue: string) {
          return accountClaims(scope, user, clientInfo(ctx?.oidc?.client), use === 'id_token' ? 'id_token' : 'userinfo', scopeValue.split(' '), settings, prefetched);
        },
      };
    },
    claims: {
      openid: ['sub'],
      profile: ['name', 'given_name', 'family_name', 'nickname', 'locale', 'preferred_username', 'updated_at'],
      email: ['email', 'email_verified'],
      phone: ['phone_number', 'phone_number_verified'],
    },
    scopes: [...STATIC_SCOPES],
    // claims.ts decides what an ID token carries (app flags), so oidc-provider must not strip it.
    conformIdTokenClaims: false,
    responseTypes: ['code'],
    clientAuthMethods: ['client_secret_basic', 'client_secret_post', 'private_key_jwt', 'none'],
    enabledJWA: {
      idTokenSigningAlgValues: ['RS256', 'ES256'],
      clientAuthSigningAlgValues: ['RS256', 'PS256', 'ES256', 'EdDSA'],
    },
    extraClientMetadata: { properties: [...CLIENT_EXTRA] },
    allowOmittingSingleRegisteredRedirectUri: false,
    clockTolerance: 5,
    pkce: { required: () => true },
    jwks: providerJwks(keys, deps.box),
    cookies: {
      keys: cookieKeys,
      long: { signed: true, httpOnly: true, sameSite: 'lax', secure },
      short: { signed: true, httpOnly: true, sameSite: 'lax', secure },
    },
    features: {
      devInteractions: { enabled: false },
      dPoP: { enabled: false },
      pushedAuthorizationRequests: { enabled: true, requirePushedAuthorizationRequests: false },
      resourceIndicators: { enabled: false },
      claimsParameter: { enabled: false },
      clientCredentials: { enabled: true },
      introspection: { enabled: true, allowedPolicy: (ctx: any, client: any, token: any) => introspectionAllowed((id) => clients.find(id), ctx, client, token) },
      // Only the client a token was issued to may revoke it.
      revocation: { enabled: true, allowedPolicy: (_ctx: any, caller: any, token: any) => caller.clientId === token.clientId },
      userinfo: { enabled: true },
      rpInitiatedLogout: {
        enabled: true,
        async logoutSource(ctx: any, form: string) {
          ctx.type = 'html';
          ctx.body = await renderPage('logout', 'Sign out', { form, host: ctx.host });
        },
        async postLogoutSuccessSource(ctx: any) {
          ctx.type = 'html';
          ctx.body = await renderPage('logged-out', 'Signed out', { clientName: ctx.oidc.client?.clientName ?? '' });
        },
      },
    },
    // prompt=select_account is requestable and answered by the account chooser (src/login/account-chooser.ts).
    interactions: { url: (_ctx: any, interaction: any) => `/ui/login/${interaction.uid}`, policy: loginInteractionPolicy(scope) },
    // Refresh tokens only with offline_access, rotated on every use (reuse revokes the family).
    issueRefreshToken: async (_ctx: any, client: any, code: any) => client.grantTypeAllowed('refresh_token') && code.scopes.has('offline_access'),
    rotateRefreshToken: true,
    async loadExistingGrant(ctx: any) {
      const { client, session } = ctx.oidc;
      const grantId = ctx.oidc.result?.consent?.grantId || session.grantIdFor(client.clientId);
      let grant = grantId ? await ctx.oidc.provider.Grant.find(grantId) : undefined;
      const info = clientInfo(client);
      const user = await userById(scope, session.accountId);
      if (!user) return undefined;
      const refusal = await loginRefusal(scope, user, info, [...ctx.oidc.requestParamScopes]);
      if (refusal) {
        // Silent authentication cannot show the refusal page: the client hears access_denied
        // (an inactive user's session just counts for nothing: login_required, as for no session).
        if (ctx.oidc.prompts.has('none') && refusal !== 'login.user_inactive') throw new errors.AccessDenied(refusalMessages[refusal]);
        return undefined;
      }
      if (!grant && !info.skipConsent) return undefined;
      grant ??= new ctx.oidc.provider.Grant({ accountId: session.accountId, clientId: client.clientId });
      // First-party apps skip consent; reserved scopes are dynamic, so they are granted here.
      const requested = [...ctx.oidc.requestParamScopes] as string[];
      const wanted = info.skipConsent ? requested : requested.filter(isReservedScope);
      if (wanted.length) grant.addOIDCScope(wanted.join(' '));
      await grant.save();
      return grant;
    },
    async extraTokenClaims(ctx: any, token: any) {
      const scopes = (token.scope ?? '').split(' ').filter(Boolean);
      if (token.kind === 'ClientCredentials') {
        // client_credentials is for machine users only: the token's subject is the machine user.
        const machineId: string | undefined = ctx?.oidc?.client?.tessera_machine_id ?? (await machineByClientId(scope, token.clientId))?.id;
        return machineId ? { sub: machineId, ...(await machineClaims(scope, machineId, scopes)) } : undefined;
      }
      if (token.kind === 'AccessToken' && token.accountId) {
        const info = clientInfo(ctx?.oidc?.client);
        if (!info.flags?.accessTokenRoleAssertion) return undefined;
        const user = await userById(scope, token.accountId);
        return user ? accountClaims(scope, user, info, 'access_token', scopes, settings).then(({ sub: _sub, ...rest }) => rest) : undefined;
      }
      return undefined;
    },
    ttl: {
      ...TTL_SHORT,
      AccessToken: () => life.access_token_lifetime_s,
      ClientCredentials: () => life.access_token_lifetime_s,
      IdToken: () => life.id_token_lifetime_s,
      // Idle lifetime per token, never past the family's absolute lifetime.
      RefreshToken: (_ctx: any, token: any) => {
        const familyAge = token.iiat ? Math.floor(Date.now() / 1000) - token.iiat : 0;
        return Math.max(1, Math.min(life.refresh_token_idle_s, life.refresh_token_absolute_s - familyAge));
      },
      Grant: () => life.refresh_token_absolute_s,
      Session: () => SESSION_TTL_S,
    },
    async renderError(ctx: any, out: Record<string, string>, error: any) {
      ctx.type = 'html';
      if (answerUnavailable.renderedPage(ctx, out, error)) out = { error: 'temporarily_unavailable', error_description: 'Sign-in is briefly unavailable. Please try again in a moment.' };
      ctx.body = await renderPage('error', 'Sign-in error', {
        heading: 'Something went wrong', code: out.error, message: out.error_description ?? out.error, details: '',
      });
      if (error?.status >= 500) deps.log.error({ err: error, instanceId }, 'oidc error');
    },
  });

  provider.proxy = deps.config.server.trustedProxies.length > 0;
  // Argon2id-hashed secrets: compare through the directory instead of oidc-provider's string equality.
  provider.Client.prototype.compareClientSecret = function compareClientSecret(this: any, actual: string) {
    return clients.verifySecret(this.clientId, actual);
  };
  // Reserved claims carry dynamic names (…:project:{id}:roles), which a static claims table cannot list;
  // claims.ts already released them by scope, so let them through the mask.
  const baseResult = provider.Claims.prototype.result;
  provider.Claims.prototype.result = async function result(this: any) {
    const claims = await baseResult.call(this);
    for (const [k, v] of Object.entries(this.available)) if (k.startsWith('urn:zitadel:')) claims[k] = v;
    return claims;
  };
  // oidc-provider drops scopes it does not list; ZITADEL's reserved scopes are dynamic
  // (…:role:{key}, …:org:id:{id}), so they count as recognised too.
  const statics = new Set<string>(STATIC_SCOPES);
  Object.defineProperty(provider.OIDCContext.prototype, 'requestParamOIDCScopes', {
    configurable: true,
    get(this: any) {
      return new Set<string>((this.params.scope?.split(' ') ?? []).filter((s: string) => statics.has(s) || isReservedScope(s)));
    },
  });
  // The JWT bearer grant is answered before the provider (jwt-bearer.ts); registering it only
  // advertises it in discovery, this handler is never reached.
  provider.registerGrantType(JWT_BEARER, async () => { throw new Error('answered by src/oidc/jwt-bearer.ts'); }, ['assertion', 'scope']);
  // Clients whose access token type is JWT get the signed form of their (stored, opaque) token.
  provider.use(async (ctx: any, next: () => Promise<void>) => {
    await next();
    if (ctx.oidc?.route !== 'token' || ctx.status !== 200 || typeof ctx.body?.access_token !== 'string') return;
    const token = ctx.oidc.entities.AccessToken ?? ctx.oidc.entities.ClientCredentials;
    const info = clientInfo(ctx.oidc.client);
    if (!token || info.flags?.accessTokenType !== 'jwt') return;
    ctx.body.access_token = await accessTokens.sign(ctx.body.access_token, token, info.projectId);
  });
  // Unknown routes under the provider answer as OIDC errors, not Koa's bare 404.
  provider.use(async (ctx: any, next: () => Promise<void>) => {
    await next();
    if (ctx.status === 404 && ctx.body === undefined) {
      ctx.status = 404;
      ctx.body = { error: 'invalid_request', error_description: 'unrecognized route or not allowed method' };
    }
  });
  provider.on('server_error', (_ctx: any, err: Error) => deps.log.error({ err, instanceId }, 'oidc server error'));
  // Infrastructure failures answer 503 temporarily_unavailable with Retry-After, never server_error or an auth failure.
  answerUnavailable.install(provider);
  if (deps.metrics) {
    const metrics = deps.metrics;
    provider.on('grant.success', (ctx: any) => metrics.tokenIssued(String(ctx.oidc?.params?.grant_type ?? '')));
  }

  return { instanceId, issuer: origin, provider, handle: provider.callback(), clients, accessTokens, cookieKey, scope };
}
