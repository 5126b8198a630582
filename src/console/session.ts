import { createHmac } from 'node:crypto';
import type { Context } from 'koa';
import { Scope } from '../db/scope.js';
import type { Knex } from 'knex';
import { constantTimeEqual, type SecretBox } from '../shared/crypto.js';
import { endUiSession, resumeUiSession, startUiSession, type UiSession, type UiSessionTimeouts } from '../domain/session/service.js';
import type { PendingSignIn } from './sign-in.js';

/**
 * The console's cookies. The session cookie holds only a random id (the session lives in
 * PostgreSQL, src/domain/session); the sign-in cookie holds the state, nonce and PKCE verifier of
 * a sign-in in progress, sealed under the master key. Both are HttpOnly, SameSite=Lax, limited to
 * /ui/console, and Secure whenever the console is served over https.
 */
export const SESSION_COOKIE = 'tessera_console';
export const SIGN_IN_COOKIE = 'tessera_console_sign_in';
const PATH = '/ui/console';

const flags = (ctx: Context) => ({ httpOnly: true, sameSite: 'lax' as const, secure: ctx.protocol === 'https', path: PATH, signed: false, overwrite: true });

export class ConsoleSessions {
  constructor(private readonly knex: Knex, private readonly box: SecretBox, private readonly timeouts: UiSessionTimeouts) {}

  private scope(ctx: Context): Scope {
    return new Scope(this.knex, ctx.state.instanceId);
  }

  rememberSignIn(ctx: Context, pending: PendingSignIn): void {
    ctx.cookies.set(SIGN_IN_COOKIE, this.box.encrypt(JSON.stringify(pending)), { ...flags(ctx), maxAge: 30 * 60_000 });
  }

  /** The sign-in in progress (read once: the cookie is cleared). */
  takeSignIn(ctx: Context): PendingSignIn | undefined {
    const sealed = ctx.cookies.get(SIGN_IN_COOKIE);
    ctx.cookies.set(SIGN_IN_COOKIE, null, flags(ctx));
    if (!sealed) return undefined;
    try {
      const pending = JSON.parse(this.box.decrypt(sealed)) as PendingSignIn;
      return pending.exp > Date.now() ? pending : undefined;
    } catch {
      return undefined;
    }
  }

  /** A new session (and so a new id) at every sign-in: an id planted before sign-in is worth nothing. */
  async start(ctx: Context, input: { userId: string; sid?: string; idToken: string }): Promise<void> {
    const old = ctx.cookies.get(SESSION_COOKIE);
    if (old) await endUiSession({ box: this.box }, this.scope(ctx), old);
    const { token } = await startUiSession({ box: this.box }, this.scope(ctx), {
      app: 'console', userId: input.userId, providerSid: input.sid, idToken: input.idToken, absoluteMs: this.timeouts.absoluteMs,
    });
    ctx.cookies.set(SESSION_COOKIE, token, flags(ctx));
  }

  async resume(ctx: Context): Promise<UiSession | undefined> {
    const token = ctx.cookies.get(SESSION_COOKIE);
    if (!token) return undefined;
    const found = await resumeUiSession(this.scope(ctx), 'console', token, this.timeouts);
    if ('miss' in found) {
      ctx.cookies.set(SESSION_COOKIE, null, flags(ctx));
      return undefined;
    }
    return found.session;
  }

  /** Ends the console session; its ID token lets the provider end the sign-in session too. */
  async end(ctx: Context): Promise<{ idToken?: string } | undefined> {
    const token = ctx.cookies.get(SESSION_COOKIE);
    ctx.cookies.set(SESSION_COOKIE, null, flags(ctx));
    return token ? endUiSession({ box: this.box }, this.scope(ctx), token) : undefined;
  }
}

/** The CSRF token of a session's forms: derived from a per-session secret, never stored in the page's cookie. */
export function csrfTokenOf(session: UiSession): string {
  return createHmac('sha256', session.csrfSecret).update('console-form').digest('base64url');
}

export function csrfMatches(session: UiSession, presented: unknown): boolean {
  return typeof presented === 'string' && constantTimeEqual(csrfTokenOf(session), presented);
}
