import type { Knex } from 'knex';
import type { Scope } from '../../db/scope.js';

/** One session of a Tessera web app (console, account page); the browser holds the id, this row its hash. */
export interface UiSessionRow {
  id_hash: string;
  app: string;
  user_id: string;
  csrf_secret: string;
  provider_sid: string | null;
  id_token_enc: string | null;
  data: Record<string, unknown>;
  created_at: Date;
  last_seen_at: Date;
  expires_at: Date;
}

export async function insertUiSession(
  scope: Scope,
  row: Omit<UiSessionRow, 'created_at' | 'last_seen_at' | 'data'> & { data?: Record<string, unknown> },
): Promise<void> {
  await scope.insert('ui_sessions', { ...row, data: JSON.stringify(row.data ?? {}) });
}

/** The session with the state of its user and the user's org, so one read decides whether it still counts. */
export async function findUiSession(
  scope: Scope,
  idHash: string,
): Promise<(UiSessionRow & { user_state: string; org_id: string; org_state: string; user_type: string }) | undefined> {
  const q = scope.join(scope.table('ui_sessions', 's'), 'users as u', (j) => j.on('u.id', 's.user_id'));
  return scope
    .join(q, 'orgs as o', (j) => j.on('o.id', 'u.org_id'))
    .where('s.id_hash', idHash)
    .first('s.*', 'u.state as user_state', 'u.type as user_type', 'u.org_id as org_id', 'o.state as org_state');
}

export async function touchUiSession(scope: Scope, idHash: string, at: Date): Promise<void> {
  await scope.table('ui_sessions').where({ id_hash: idHash }).update({ last_seen_at: at });
}

export async function updateUiSessionData(scope: Scope, idHash: string, data: Record<string, unknown>): Promise<void> {
  await scope
    .table('ui_sessions')
    .where({ id_hash: idHash })
    .update({ data: JSON.stringify(data) });
}

export async function deleteUiSession(scope: Scope, idHash: string): Promise<number> {
  return scope.table('ui_sessions').where({ id_hash: idHash }).delete();
}

export async function deleteUiSessionsOfProviderSessions(scope: Scope, userId: string, sids: string[]): Promise<number> {
  if (sids.length === 0) return 0;
  return scope.table('ui_sessions').where({ user_id: userId }).whereIn('provider_sid', sids).delete();
}

/** Expired sessions of every instance; run now and then. */
export async function sweepUiSessions(knex: Knex, now = new Date()): Promise<number> {
  return knex('ui_sessions').where('expires_at', '<', now).delete();
}

/**
 * The sign-in sessions of a user: oidc-provider's Session payloads (always in PostgreSQL, see
 * src/oidc/adapter.ts). Read as data here: what a session is, who it belongs to, since when,
 * and which apps it signed in to.
 */
export interface SignInSession {
  id: string;
  loginAt: Date | null;
  expiresAt: Date | null;
  amr: string[];
  /** stays the same while `id` rotates at each login: what the device row is keyed by */
  uid?: string;
  /** the browser it was last used from (sign_in_devices), when known */
  device?: { userAgent: string | null; lastSeenAt: Date };
  /** client id → the per-client sid the app's ID token carried, and the grant behind its tokens */
  apps: { clientId: string; sid?: string; grantId?: string }[];
}

interface SessionPayload {
  accountId?: string;
  loginTs?: number;
  uid?: string;
  amr?: string[];
  exp?: number;
  authorizations?: Record<string, { sid?: string; grantId?: string }>;
}

function toSignInSession(id: string, p: SessionPayload, expiresAt: Date | null): SignInSession {
  return {
    id,
    loginAt: p.loginTs ? new Date(p.loginTs * 1000) : null,
    expiresAt,
    amr: p.amr ?? [],
    uid: p.uid,
    apps: Object.entries(p.authorizations ?? {}).map(([clientId, a]) => ({ clientId, sid: a.sid, grantId: a.grantId })),
  };
}

export async function listSignInSessions(scope: Scope, userId: string): Promise<SignInSession[]> {
  const rows: { id: string; payload: SessionPayload; expires_at: Date | null }[] = await scope
    .table('oidc_payloads')
    .where({ model: 'Session' })
    .whereRaw(`payload->>'accountId' = ?`, [userId])
    .andWhere((q) => q.whereNull('expires_at').orWhere('expires_at', '>', new Date()))
    .select('id', 'payload', 'expires_at');
  const sessions = rows.map((r) => toSignInSession(r.id, r.payload, r.expires_at));
  const uids = sessions.map((x) => x.uid).filter((u): u is string => Boolean(u));
  const devices: { session_uid: string; user_agent: string | null; last_seen_at: Date }[] = uids.length
    ? await scope.table('sign_in_devices').where({ user_id: userId }).whereIn('session_uid', uids).select('session_uid', 'user_agent', 'last_seen_at')
    : [];
  const byUid = new Map(devices.map((d) => [d.session_uid, { userAgent: d.user_agent, lastSeenAt: new Date(d.last_seen_at) }]));
  return sessions
    .map((x) => (x.uid && byUid.has(x.uid) ? { ...x, device: byUid.get(x.uid) } : x))
    .sort((a, b) => (b.loginAt?.getTime() ?? 0) - (a.loginAt?.getTime() ?? 0));
}

/** The browser a sign-in session was used from: its user agent and when it was last used (written at each authorization). */
export async function upsertSignInDevice(scope: Scope, row: { session_uid: string; user_id: string; user_agent: string | null; at: Date }): Promise<void> {
  await scope
    .insert('sign_in_devices', { session_uid: row.session_uid, user_id: row.user_id, user_agent: row.user_agent, first_seen_at: row.at, last_seen_at: row.at })
    .onConflict(['instance_id', 'session_uid'])
    .merge({ user_id: row.user_id, user_agent: row.user_agent, last_seen_at: row.at });
}

export async function getSignInSession(scope: Scope, userId: string, id: string): Promise<SignInSession | undefined> {
  const row = await scope
    .table('oidc_payloads')
    .where({ model: 'Session', id })
    .whereRaw(`payload->>'accountId' = ?`, [userId])
    .first('id', 'payload', 'expires_at');
  return row ? toSignInSession(row.id, row.payload, row.expires_at) : undefined;
}

/** Removes a sign-in session, the grants made in it and every token stored under those grants. */
export async function deleteSignInSession(scope: Scope, session: SignInSession): Promise<void> {
  const grantIds = session.apps.map((a) => a.grantId).filter((g): g is string => Boolean(g));
  await scope.table('oidc_payloads').where({ model: 'Session', id: session.id }).delete();
  if (session.uid) await scope.table('sign_in_devices').where({ session_uid: session.uid }).delete();
  if (grantIds.length) {
    await scope.table('oidc_payloads').where({ model: 'Grant' }).whereIn('id', grantIds).delete();
    await scope.table('oidc_payloads').whereIn('grant_id', grantIds).delete();
  }
}
