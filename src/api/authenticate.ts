import type { Context } from 'koa';
import { createLocalJWKSet, jwtVerify, type JSONWebKeySet } from 'jose';
import type { Runtime } from '../runtime/index.js';
import { Scope } from '../db/scope.js';
import type { Principal } from '../domain/principal.js';
import { callerById, callerByPersonalAccessToken, requireCallableOrg, whyCallerCannotAct, type UserRow } from '../domain/api-caller.js';
import { publishedSigningKeys } from '../oidc/keys.js';
import { constantTimeEqual } from '../shared/crypto.js';
import { DomainError } from '../shared/errors.js';
import type { ApiServices, Authenticated } from './route.js';
import { API_AUDIENCE, API_SCOPE, findJwtAccessToken, findOpaqueAccessToken, type OpaqueTokenSource } from './oidc-tokens.js';

const unauthenticated = (why: string) => new DomainError('unauthenticated', why, 'unauthenticated');

export function bearerToken(koa: Context): string {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(koa.get('authorization'));
  if (!m) throw unauthenticated('send Authorization: Bearer <token>');
  return m[1];
}

/**
 * Who the bearer token of an instance request belongs to. Accepted: a machine user's personal
 * access token, a JWT access token signed by this instance's keys with this instance's issuer
 * whose opaque twin in the provider's storage is still live (not revoked),
 * or an opaque access token this instance's provider issued; either OIDC token only when it was
 * issued for the API's audience (see oidc-tokens.ts). Everything is looked up in the
 * request's instance only, so another instance's token simply is not found (401).
 */
export async function authenticateCaller(koa: Context, rt: Runtime, tokens: OpaqueTokenSource | undefined): Promise<Principal> {
  const token = bearerToken(koa);
  const scope = new Scope(rt.db.knex, koa.state.instanceId);
  let user: UserRow | undefined;
  // A personal access token's query already requires its user's org to be active.
  let orgChecked = false;
  if (token.split('.').length === 3) {
    user = await userFromJwt(scope, token, koa.state.origin);
    // The signature proves who issued it, not that it is still live: revoked or expired with its
    // grant, the opaque twin is gone and the JWT is refused too.
    if (user && tokens && (await findJwtAccessToken(tokens, koa, scope, token)) !== user.id) user = undefined;
  } else {
    user = await callerByPersonalAccessToken(scope, token);
    orgChecked = Boolean(user);
    if (!user) {
      const sub = await findOpaqueAccessToken(tokens, koa, scope, token);
      user = sub ? await callerById(scope, sub) : undefined;
    }
  }
  if (!user) throw unauthenticated(`the token is unknown, expired, not issued by this instance, or not issued for the API (scope ${API_SCOPE})`);
  const why = await whyCallerCannotAct(scope, user, { orgChecked });
  if (why) throw unauthenticated(why);
  return { type: 'user', userId: user.id, orgId: user.org_id };
}

async function userFromJwt(scope: Scope, token: string, issuer: string): Promise<UserRow | undefined> {
  const keys = (await publishedSigningKeys(scope)).map((k) => (typeof k.public_jwk === 'string' ? JSON.parse(k.public_jwk) : k.public_jwk));
  try {
    // typ at+jwt: an id token (or any other JWT the instance signed) is not an access token.
    const { payload } = await jwtVerify(token, createLocalJWKSet({ keys } as JSONWebKeySet), { issuer, typ: 'at+jwt', audience: API_AUDIENCE });
    return typeof payload.sub === 'string' ? await callerById(scope, payload.sub) : undefined;
  } catch {
    return undefined;
  }
}

/** Management API: the org named by x-zitadel-orgid or x-org-id, else the caller's own. Unknown → 404. */
export async function managementContext(koa: Context, rt: Runtime, services: ApiServices): Promise<Authenticated> {
  const principal = await authenticateCaller(koa, rt, services.tokens);
  const header = koa.get('x-zitadel-orgid') || koa.get('x-org-id');
  const orgId = header || (principal.type === 'user' ? principal.orgId : '');
  const scope = new Scope(rt.db.knex, koa.state.instanceId);
  await requireCallableOrg(scope, principal, orgId);
  return { principal, orgId };
}

export async function userContext(koa: Context, rt: Runtime, services: ApiServices): Promise<Authenticated> {
  const principal = await authenticateCaller(koa, rt, services.tokens);
  return { principal, orgId: principal.type === 'user' ? principal.orgId : '' };
}

/** System API: one of config.systemApiKeys, compared in constant time against every key. */
export async function systemContext(koa: Context, rt: Runtime): Promise<Authenticated> {
  const token = bearerToken(koa);
  let ok = false;
  for (const k of rt.config.systemApiKeys) ok = constantTimeEqual(k.key, token) || ok;
  if (!ok) throw unauthenticated('not a system API key');
  return { principal: { type: 'system' }, orgId: '' };
}
