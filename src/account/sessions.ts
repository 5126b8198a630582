import type Router from '@koa/router';
import type { Context } from 'koa';
import { z } from 'zod';
import { userSignInSessions, type SignInSession } from '../domain/session/queries.js';
import { endAllSignInSessions, endSignInSession } from '../domain/session/service.js';
import { accountState, flash, paths } from './context.js';
import { renderAccount } from './render.js';

/**
 * The user's sign-in sessions, one per browser they signed in with: the device, when they signed
 * in and when the session was last used; ending one ends its apps' grants and tokens too
 * (endSignInSession, as the Management API does), ending all signs this browser out as well.
 */
const endForm = z.object({ id: z.string().min(1).max(100) });

/** "Firefox on Linux" from a user agent string: enough to recognise one's own devices. */
export function describeUserAgent(ua: string | null | undefined): { browser?: string; os?: string } {
  if (!ua) return {};
  const browser = /Edg\//.test(ua)
    ? 'Edge'
    : /OPR\//.test(ua)
      ? 'Opera'
      : /Firefox\//.test(ua)
        ? 'Firefox'
        : /Chrom(e|ium)\//.test(ua)
          ? 'Chrome'
          : /Safari\//.test(ua)
            ? 'Safari'
            : undefined;
  const os = /Android/.test(ua)
    ? 'Android'
    : /iPhone|iPad/.test(ua)
      ? 'iOS'
      : /Windows/.test(ua)
        ? 'Windows'
        : /Mac OS X|Macintosh/.test(ua)
          ? 'macOS'
          : /Linux|X11/.test(ua)
            ? 'Linux'
            : undefined;
  return { browser, os };
}

const isCurrent = (s: SignInSession, providerSid: string | null) => Boolean(providerSid && s.apps.some((app) => app.sid === providerSid));

export function sessionPages(router: Router): void {
  router.get('/sessions', async (ctx) => {
    const a = accountState(ctx);
    const sessions = (await userSignInSessions(a.svc, a.userId)).map((s) => ({
      ...s,
      current: isCurrent(s, a.session.providerSid),
      ...describeUserAgent(s.device?.userAgent),
    }));
    // This browser's session first: it is the one people look for.
    sessions.sort((x, y) => Number(y.current) - Number(x.current));
    await renderAccount(ctx, 'sessions', { sessions, locale: a.locale }, { titleKey: 'sessions.title', navKey: 'sessions' });
  });

  router.post('/sessions/end', async (ctx: Context) => {
    const a = accountState(ctx);
    const parsed = endForm.safeParse((ctx.request as { body?: unknown }).body ?? {});
    if (!parsed.success) {
      ctx.status = 404;
      return;
    }
    const current = (await userSignInSessions(a.svc, a.userId)).find((s) => s.id === parsed.data.id && isCurrent(s, a.session.providerSid));
    await endSignInSession(a.svc, a.userId, parsed.data.id);
    if (current) return ctx.redirect(`${paths.home}/signed-out`);
    await flash(ctx, 'ok', a.t('sessions.ended'));
    ctx.redirect(paths.sessions);
  });

  router.post('/sessions/end-all', async (ctx) => {
    const a = accountState(ctx);
    await endAllSignInSessions(a.svc, a.userId);
    ctx.redirect(`${paths.home}/signed-out`);
  });
}
