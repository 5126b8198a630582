import type Router from '@koa/router';
import type { Context } from 'koa';
import ejs from 'ejs';
import path from 'node:path';
import { viewsDir } from '../ui/render.js';
import { consoleTranslator, type Locale } from './i18n.js';
import type { ConsoleSessions } from './session.js';
import type { ConsoleRelyingParty } from './sign-in.js';
import { csrfMatches } from './session.js';

/**
 * Signing in and out. /sign-in sends the browser to the instance's own login (code + PKCE);
 * /callback finishes it and starts a console session; /sign-out ends the console session and
 * then the provider's sign-in session (end_session with id_token_hint), which comes back to
 * /signed-out.
 */
const safeReturn = (value: unknown) => (typeof value === 'string' && /^\/ui\/console(\/|$|\?)/.test(value) && !value.includes('//') ? value : '/ui/console');

export function signInRoutes(router: Router, d: { rp: ConsoleRelyingParty; sessions: ConsoleSessions; localeOf: (ctx: Context) => Locale }): void {
  router.get('/sign-in', async (ctx) => {
    const { pending, url } = await d.rp.begin(ctx.state.instanceId, ctx.state.origin, safeReturn(ctx.query.return), d.localeOf(ctx));
    d.sessions.rememberSignIn(ctx, pending);
    ctx.set('Cache-Control', 'no-store');
    ctx.redirect(url);
  });

  router.get('/callback', async (ctx) => {
    const pending = d.sessions.takeSignIn(ctx);
    if (!pending || ctx.query.error) {
      // A sign-in refused at the provider, or a stale or foreign callback: start again.
      await plainPage(ctx, d.localeOf(ctx), 400, 'signIn.failedTitle', ctx.query.error ? 'signIn.refused' : 'signIn.expired');
      return;
    }
    let signedIn;
    try {
      signedIn = await d.rp.complete(ctx.state.instanceId, ctx.state.origin, new URL(ctx.href), pending);
    } catch (err) {
      ctx.app.emit('error', err, ctx);
      await plainPage(ctx, d.localeOf(ctx), 400, 'signIn.failedTitle', 'signIn.expired');
      return;
    }
    await d.sessions.start(ctx, signedIn);
    ctx.redirect(pending.returnTo);
  });

  router.post('/sign-out', async (ctx) => {
    const session = await d.sessions.resume(ctx);
    const body = (ctx.request as { body?: Record<string, unknown> }).body;
    if (session && !csrfMatches(session, body?._csrf)) {
      await plainPage(ctx, d.localeOf(ctx), 403, 'csrf.title', 'csrf.message');
      return;
    }
    const ended = session ? await d.sessions.end(ctx) : undefined;
    ctx.redirect(await d.rp.endSessionUrl(ctx.state.instanceId, ctx.state.origin, ended?.idToken));
  });

  router.get('/signed-out', async (ctx) => {
    await plainPage(ctx, d.localeOf(ctx), 200, 'signedOut.title', 'signedOut.message');
  });
}

/** A page outside a session (no navigation): signed out, sign-in failed. */
async function plainPage(ctx: Context, locale: Locale, status: number, titleKey: string, messageKey: string): Promise<void> {
  const t = consoleTranslator(locale);
  ctx.status = status;
  ctx.type = 'text/html; charset=utf-8';
  ctx.set('Cache-Control', 'no-store');
  const body = await ejs.renderFile(path.join(viewsDir, 'console', 'plain.ejs'), { t, heading: t(titleKey), message: t(messageKey) }, { async: true });
  ctx.body = await ejs.renderFile(path.join(viewsDir, 'console', 'layout.ejs'), {
    t, title: t(titleKey), body, lang: locale, branding: { name: '' }, me: undefined, nav: [], orgs: [], signedIn: false, csrf: '', org: undefined, flash: undefined, paths: {},
  }, { async: true });
}
