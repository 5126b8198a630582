import { randomBytes } from 'node:crypto';
import { authorize } from '../authorization.js';
import type { Scope } from '../../db/scope.js';
import { sha256 } from '../../shared/crypto.js';
import { notFound } from '../../shared/errors.js';
import { appendEvent } from '../audit/repository.js';
import type { ServiceContext, ServiceDeps } from '../deps.js';
import type { Principal } from '../principal.js';
import { getUser } from '../user/repository.js';
import {
  deleteSignInSession,
  deleteUiSession,
  deleteUiSessionsOfProviderSessions,
  findUiSession,
  getSignInSession,
  insertUiSession,
  touchUiSession,
  listSignInSessions,
  updateUiSessionData,
  upsertSignInDevice,
  type SignInSession,
} from './repository.js';

/**
 * Sessions of Tessera's own web apps, and a manager ending a user's sign-in sessions.
 *
 * A web app session is server-side: the browser holds a random id (256 bits), the table only
 * its hash, so a database dump hands out no session. It ends after `idleMs` without a request,
 * at `absoluteMs` after sign-in whatever happens, when its user is no longer active or the
 * user's org is deactivated, and when the sign-in session it came from is ended.
 */
export interface UiSessionTimeouts {
  idleMs: number;
  absoluteMs: number;
}

export interface UiSession {
  /** the hash: what the app may keep around without holding the session */
  key: string;
  app: string;
  actor: Principal & { type: 'user' };
  csrfSecret: string;
  providerSid: string | null;
  data: Record<string, unknown>;
  createdAt: Date;
  expiresAt: Date;
}

export type UiSessionMiss = 'unknown' | 'expired' | 'idle' | 'user_inactive';

const hashOf = (token: string) => sha256(`ui-session:${token}`);
/** last_seen_at is written at most this often: a page view should not always cost a write. */
const TOUCH_EVERY_MS = 30_000;

export async function startUiSession(
  deps: Pick<ServiceDeps, 'box'>,
  scope: Scope,
  input: { app: string; userId: string; providerSid?: string; idToken?: string; absoluteMs: number; data?: Record<string, unknown> },
): Promise<{ token: string }> {
  const token = randomBytes(32).toString('base64url');
  await insertUiSession(scope, {
    id_hash: hashOf(token),
    app: input.app,
    user_id: input.userId,
    csrf_secret: randomBytes(32).toString('base64url'),
    provider_sid: input.providerSid ?? null,
    id_token_enc: input.idToken ? deps.box.encrypt(input.idToken) : null,
    expires_at: new Date(Date.now() + input.absoluteMs),
    data: input.data,
  });
  return { token };
}

/**
 * The session a browser's id stands for, if it still counts; a session that no longer counts is
 * deleted on the spot. Counting means: this app's, within both timeouts, its user active (or
 * still initial) and the user's org active.
 */
export async function resumeUiSession(
  scope: Scope,
  app: string,
  token: string,
  t: UiSessionTimeouts,
  now = new Date(),
): Promise<{ session: UiSession } | { miss: UiSessionMiss }> {
  const key = hashOf(token);
  const row = await findUiSession(scope, key);
  if (!row || row.app !== app) return { miss: 'unknown' };
  let miss: UiSessionMiss | undefined;
  if (new Date(row.expires_at) <= now) miss = 'expired';
  else if (new Date(row.last_seen_at).getTime() + t.idleMs <= now.getTime()) miss = 'idle';
  else if (row.user_type !== 'human' || !['active', 'initial'].includes(row.user_state) || row.org_state !== 'active') miss = 'user_inactive';
  if (miss) {
    await deleteUiSession(scope, key);
    return { miss };
  }
  if (now.getTime() - new Date(row.last_seen_at).getTime() >= TOUCH_EVERY_MS) await touchUiSession(scope, key, now);
  return {
    session: {
      key,
      app: row.app,
      // The auth_time of the sign-in (or the latest sign-in again) behind the session, for changes that need it recent.
      actor: { type: 'user', userId: row.user_id, orgId: row.org_id, authTime: typeof row.data?.authTime === 'number' ? row.data.authTime : undefined },
      csrfSecret: row.csrf_secret,
      providerSid: row.provider_sid,
      data: row.data ?? {},
      createdAt: new Date(row.created_at),
      expiresAt: new Date(row.expires_at),
    },
  };
}

export async function setUiSessionData(scope: Scope, session: UiSession, patch: Record<string, unknown>): Promise<void> {
  session.data = { ...session.data, ...patch };
  await updateUiSessionData(scope, session.key, session.data);
}

/** Ends a web app session; gives back its ID token so the app can end the sign-in session too. */
export async function endUiSession(deps: Pick<ServiceDeps, 'box'>, scope: Scope, token: string): Promise<{ idToken?: string } | undefined> {
  const key = hashOf(token);
  const row = await findUiSession(scope, key);
  if (!row) return undefined;
  await deleteUiSession(scope, key);
  return { idToken: row.id_token_enc ? deps.box.decrypt(row.id_token_enc) : undefined };
}

/** Users end their own sessions; managers need user.write on the user's org. */
async function authorizeEnding(ctx: ServiceContext, userId: string) {
  const user = await getUser(ctx.scope, userId);
  if (!user) throw notFound('user', userId);
  if (!(ctx.actor.type === 'user' && ctx.actor.userId === userId)) await authorize(ctx, 'user.write', { orgId: user.org_id });
  return user;
}

async function endSessions(ctx: ServiceContext, user: { id: string; org_id: string }, sessions: SignInSession[]): Promise<void> {
  await ctx.scope.transaction(async (scope) => {
    for (const session of sessions) {
      await deleteSignInSession(scope, session);
      await deleteUiSessionsOfProviderSessions(
        scope,
        user.id,
        session.apps.map((a) => a.sid).filter((s): s is string => Boolean(s)),
      );
      await appendEvent(scope, ctx.actor, {
        orgId: user.org_id,
        resourceType: 'user',
        resourceId: user.id,
        type: 'user.session.ended',
        payload: { sessionId: session.id },
      });
    }
  });
  // Sessions and grants are cached in every process (src/oidc/durable-cache.ts): the change notice drops them.
  await ctx.deps.changes.publish(ctx.scope.instanceId);
}

/**
 * Ends one of a user's sign-in sessions (the user themselves, or a manager): the session, the
 * grants made in it with their tokens, and the web app sessions that came from it. The user
 * signs in again next time.
 */
export async function endSignInSession(ctx: ServiceContext, userId: string, sessionId: string): Promise<void> {
  const user = await authorizeEnding(ctx, userId);
  const session = await getSignInSession(ctx.scope, userId, sessionId);
  if (!session) throw notFound('session', sessionId);
  await endSessions(ctx, user, [session]);
}

/** Ends every sign-in session of the user ("sign out everywhere"), as endSignInSession does one. */
export async function endAllSignInSessions(ctx: ServiceContext, userId: string): Promise<{ ended: number }> {
  const user = await authorizeEnding(ctx, userId);
  const sessions = await listSignInSessions(ctx.scope, userId);
  await endSessions(ctx, user, sessions);
  return { ended: sessions.length };
}

/**
 * Remembers the browser a sign-in session is used from (its user agent, cut to a sane length),
 * for the list of sessions on the account page. Called by the provider after each authorization;
 * nothing to authorize: it records what the user's own browser said.
 */
export async function recordSignInDevice(scope: Scope, input: { sessionUid: string; userId: string; userAgent?: string }): Promise<void> {
  await upsertSignInDevice(scope, { session_uid: input.sessionUid, user_id: input.userId, user_agent: input.userAgent?.slice(0, 512) || null, at: new Date() });
}
