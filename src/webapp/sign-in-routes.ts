import type Router from '@koa/router';
import type { Context } from 'koa';
import type { BuiltInRelyingParty } from './relying-party.js';
import { csrfMatches, type WebAppSessions } from './sessions.js';

/**
 * Signing in and out of a web app (the console, the account page), under its base path.
 * /sign-in sends the browser to the instance's own login (code + PKCE); /callback finishes it and
 * starts the app's session; /sign-out ends that session and then the provider's sign-in session
 * (end_session with id_token_hint), which comes back to /signed-out.
 */
export interface SignInDeps {
  rp: BuiltInRelyingParty;
  sessions: WebAppSessions;
  /** the visitor's language, for the login pages (ui_locales) */
  localeOf: (ctx: Context) => string;
  /** a page outside any session (signed out, sign-in failed), in the app's look */
  plainPage: (ctx: Context, status: number, titleKey: string, messageKey: string) => Promise<void>;
  /** extra authorization parameters of a sign-in the app asks for (e.g. prompt=login to sign in again) */
  extraParams?: (ctx: Context) => Record<string, string>;
}

export function signInRoutes(router: Router, d: SignInDeps): void {
  const base = d.sessions.webApp.base;
  const safeReturn = (value: unknown) =>
    typeof value === 'string' && (value === base || value.startsWith(`${base}/`) || value.startsWith(`${base}?`)) && !value.includes('//') ? value : base;

  router.get('/sign-in', async (ctx) => {
    const { pending, url } = await d.rp.begin(ctx.state.instanceId, ctx.state.origin, safeReturn(ctx.query.return), d.localeOf(ctx), d.extraParams?.(ctx));
    d.sessions.rememberSignIn(ctx, pending);
    ctx.set('Cache-Control', 'no-store');
    ctx.redirect(url);
  });

  router.get('/callback', async (ctx) => {
    const pending = d.sessions.takeSignIn(ctx);
    if (!pending || ctx.query.error) {
      // A sign-in refused at the provider, or a stale or foreign callback: start again.
      await d.plainPage(ctx, 400, 'signIn.failedTitle', ctx.query.error ? 'signIn.refused' : 'signIn.expired');
      return;
    }
    let signedIn;
    try {
      signedIn = await d.rp.complete(ctx.state.instanceId, ctx.state.origin, new URL(ctx.href), pending);
    } catch (err) {
      ctx.app.emit('error', err, ctx);
      await d.plainPage(ctx, 400, 'signIn.failedTitle', 'signIn.expired');
      return;
    }
    const sid = signedIn.sid ?? (await d.rp.sidOfBrowserSession(ctx.state.instanceId, ctx.state.origin, ctx, signedIn.userId));
    await d.sessions.start(ctx, { ...signedIn, sid });
    ctx.redirect(pending.returnTo);
  });

  router.post('/sign-out', async (ctx) => {
    const session = await d.sessions.resume(ctx);
    const body = (ctx.request as { body?: Record<string, unknown> }).body;
    if (session && !csrfMatches(session, body?._csrf)) {
      await d.plainPage(ctx, 403, 'csrf.title', 'csrf.message');
      return;
    }
    const ended = session ? await d.sessions.end(ctx) : undefined;
    ctx.redirect(await d.rp.endSessionUrl(ctx.state.instanceId, ctx.state.origin, ended?.idToken));
  });

  router.get('/signed-out', async (ctx) => {
    await d.plainPage(ctx, 200, 'signedOut.title', 'signedOut.message');
  });
}
