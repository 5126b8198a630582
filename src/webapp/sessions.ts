import { createHmac } from 'node:crypto';
import type { Context } from 'koa';
import { Scope } from '../db/scope.js';
import type { Knex } from 'knex';
import { constantTimeEqual, type SecretBox } from '../shared/crypto.js';
import { endUiSession, resumeUiSession, startUiSession, type UiSession, type UiSessionTimeouts } from '../domain/session/service.js';
import type { PendingSignIn } from './relying-party.js';

/**
 * A web app's cookies (the console's, the account page's). The session cookie holds only a random
 * id (the session lives in PostgreSQL, src/domain/session); the sign-in cookie holds the state,
 * nonce and PKCE verifier of a sign-in in progress, sealed under the master key. Both are
 * HttpOnly, SameSite=Lax, limited to the app's path, and Secure whenever it is served over https.
 */
export interface WebApp {
  /** the app's name in ui_sessions (console | account) */
  app: string;
  /** where it lives, e.g. /ui/console */
  base: string;
}

export const sessionCookie = (app: WebApp) => `tessera_${app.app}`;
const signInCookie = (app: WebApp) => `tessera_${app.app}_sign_in`;

export class WebAppSessions {
  constructor(
    private readonly knex: Knex,
    private readonly box: SecretBox,
    private readonly timeouts: UiSessionTimeouts,
    readonly webApp: WebApp,
  ) {}

  private flags(ctx: Context) {
    return { httpOnly: true, sameSite: 'lax' as const, secure: ctx.protocol === 'https', path: this.webApp.base, signed: false, overwrite: true };
  }

  private scope(ctx: Context): Scope {
    return new Scope(this.knex, ctx.state.instanceId);
  }

  rememberSignIn(ctx: Context, pending: PendingSignIn): void {
    ctx.cookies.set(signInCookie(this.webApp), this.box.encrypt(JSON.stringify(pending)), { ...this.flags(ctx), maxAge: 30 * 60_000 });
  }

  /** The sign-in in progress (read once: the cookie is cleared). */
  takeSignIn(ctx: Context): PendingSignIn | undefined {
    const sealed = ctx.cookies.get(signInCookie(this.webApp));
    ctx.cookies.set(signInCookie(this.webApp), null, this.flags(ctx));
    if (!sealed) return undefined;
    try {
      const pending = JSON.parse(this.box.decrypt(sealed)) as PendingSignIn;
      return pending.exp > Date.now() ? pending : undefined;
    } catch {
      return undefined;
    }
  }

  /** A new session (and so a new id) at every sign-in: an id planted before sign-in is worth nothing. */
  async start(ctx: Context, input: { userId: string; sid?: string; authTime?: number; idToken: string }): Promise<void> {
    const old = ctx.cookies.get(sessionCookie(this.webApp));
    if (old) await endUiSession({ box: this.box }, this.scope(ctx), old);
    const { token } = await startUiSession({ box: this.box }, this.scope(ctx), {
      app: this.webApp.app,
      userId: input.userId,
      providerSid: input.sid,
      idToken: input.idToken,
      data: input.authTime ? { authTime: input.authTime } : undefined,
      absoluteMs: this.timeouts.absoluteMs,
    });
    ctx.cookies.set(sessionCookie(this.webApp), token, this.flags(ctx));
  }

  async resume(ctx: Context): Promise<UiSession | undefined> {
    const token = ctx.cookies.get(sessionCookie(this.webApp));
    if (!token) return undefined;
    const found = await resumeUiSession(this.scope(ctx), this.webApp.app, token, this.timeouts);
    if ('miss' in found) {
      ctx.cookies.set(sessionCookie(this.webApp), null, this.flags(ctx));
      return undefined;
    }
    return found.session;
  }

  /** Ends the app's session; its ID token lets the provider end the sign-in session too. */
  async end(ctx: Context): Promise<{ idToken?: string } | undefined> {
    const token = ctx.cookies.get(sessionCookie(this.webApp));
    ctx.cookies.set(sessionCookie(this.webApp), null, this.flags(ctx));
    return token ? endUiSession({ box: this.box }, this.scope(ctx), token) : undefined;
  }
}

/** The CSRF token of a session's forms: derived from a per-session secret, never stored in the page's cookie. */
export function csrfTokenOf(session: UiSession): string {
  return createHmac('sha256', session.csrfSecret).update(`${session.app}-form`).digest('base64url');
}

export function csrfMatches(session: UiSession, presented: unknown): boolean {
  return typeof presented === 'string' && constantTimeEqual(csrfTokenOf(session), presented);
}
