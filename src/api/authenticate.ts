import type { Context } from 'koa';
import { createLocalJWKSet, jwtVerify, type JSONWebKeySet } from 'jose';
import type { Runtime } from '../runtime/index.js';
import { Scope } from '../db/scope.js';
import type { Principal } from '../domain/principal.js';
import {
  callerById,
  callerByPersonalAccessToken,
  callerOfPersonalAccessToken,
  knownCaller,
  requireCallableOrg,
  whyCallerCannotAct,
  type CallerCache,
  type MembershipRow,
  type UserRow,
} from '../domain/api-caller.js';
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
 *
 * With the caller cache (services.callers), the caller's memberships come along: a personal
 * access token and its user, org and memberships are then read once per process until
 * PostgreSQL's notice of a change to any of them, so a call costs no query to authenticate.
 */
export async function authenticatedCaller(
  koa: Context,
  rt: Runtime,
  tokens: OpaqueTokenSource | undefined,
  callers?: CallerCache,
): Promise<{ principal: Principal; memberships?: MembershipRow[] }> {
  const token = bearerToken(koa);
  const scope = new Scope(rt.db.knex, koa.state.instanceId);
  let user: UserRow | undefined;
  // When the user signed in, as the OIDC access token says; a personal access token has no sign-in.
  let authTime: number | undefined;
  // A personal access token's query already requires its user's org to be active.
  let orgChecked = false;
  let orgActive: boolean | undefined;
  let memberships: MembershipRow[] | undefined;
  if (token.split('.').length === 3) {
    user = await userFromJwt(scope, token, koa.state.origin);
    // The signature proves who issued it, not that it is still live: revoked or expired with its
    // grant, the opaque twin is gone and the JWT is refused too.
    if (user && tokens) {
      const twin = await findJwtAccessToken(tokens, koa, scope, token);
      if (twin?.userId !== user.id) user = undefined;
      authTime = twin?.authTime;
    }
  } else if (callers) {
    const known = await callerOfPersonalAccessToken(scope, token, callers);
    if (!known) {
      const sub = await findOpaqueAccessToken(tokens, koa, scope, token);
      const other = sub ? await knownCaller(scope, sub.userId, callers) : undefined;
      if (other) ({ user, orgActive, memberships } = other);
      authTime = other ? sub?.authTime : undefined;
    } else ({ user, orgActive, memberships } = known);
  } else {
    user = await callerByPersonalAccessToken(scope, token);
    orgChecked = Boolean(user);
    if (!user) {
      const sub = await findOpaqueAccessToken(tokens, koa, scope, token);
      user = sub ? await callerById(scope, sub.userId) : undefined;
      authTime = sub?.authTime;
    }
  }
  if (!user) throw unauthenticated(`the token is unknown, expired, not issued by this instance, or not issued for the API (scope ${API_SCOPE})`);
  const why = await whyCallerCannotAct(scope, user, { orgChecked, orgActive });
  if (why) throw unauthenticated(why);
  return { principal: { type: 'user', userId: user.id, orgId: user.org_id, ...(authTime !== undefined ? { authTime } : {}) }, memberships };
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
  const { principal, memberships } = await authenticatedCaller(koa, rt, services.tokens, services.callers);
  const header = koa.get('x-zitadel-orgid') || koa.get('x-org-id');
  const orgId = header || (principal.type === 'user' ? principal.orgId : '');
  const scope = new Scope(rt.db.knex, koa.state.instanceId);
  await requireCallableOrg(scope, principal, orgId, memberships);
  return { principal, orgId, memberships };
}

export async function userContext(koa: Context, rt: Runtime, services: ApiServices): Promise<Authenticated> {
  const { principal, memberships } = await authenticatedCaller(koa, rt, services.tokens, services.callers);
  return { principal, orgId: principal.type === 'user' ? principal.orgId : '', memberships };
}

/** System API: one of config.systemApiKeys, compared in constant time against every key. */
export async function systemContext(koa: Context, rt: Runtime): Promise<Authenticated> {
  const token = bearerToken(koa);
  let ok = false;
  for (const k of rt.config.systemApiKeys) ok = constantTimeEqual(k.key, token) || ok;
  if (!ok) throw unauthenticated('not a system API key');
  return { principal: { type: 'system' }, orgId: '' };
}
