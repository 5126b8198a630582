import compose from 'koa-compose';
import Router from '@koa/router';
import { bodyParser } from '@koa/bodyparser';
import type { Context, Middleware, Next } from 'koa';
import { Scope } from '../db/scope.js';
import type { ServiceDeps } from '../domain/deps.js';
import { upstreamCallback } from '../domain/idp/upstream.js';
import { isReauthenticationRequired } from '../domain/recent-sign-in.js';
import { setUiSessionData } from '../domain/session/service.js';
import { ownProfile } from '../domain/user/queries.js';
import { ACCOUNT_CLIENT_ID } from '../oidc/builtin-clients.js';
import type { ProviderPool } from '../oidc/pool.js';
import type { Notifier } from '../notify/notifier.js';
import type { Runtime } from '../runtime/index.js';
import { DomainError } from '../shared/errors.js';
import { loadBranding } from '../ui/branding.js';
import { pickLocale, type Locale } from '../ui/i18n.js';
import { BuiltInRelyingParty } from '../webapp/relying-party.js';
import { csrfMatches, csrfTokenOf, WebAppSessions } from '../webapp/sessions.js';
import { signInRoutes } from '../webapp/sign-in-routes.js';
import { paths, redirectToSignInAgain, type AccountState } from './context.js';
import { applicationPages } from './applications.js';
import { passkeyPages } from './passkeys.js';
import { emailPages } from './email.js';
import { identityPages } from './identities.js';
import { identityLinkPages } from './identity-link.js';
import { passwordPages } from './password.js';
import { profilePages } from './profile.js';
import { securityPages } from './security.js';
import { sessionPages } from './sessions.js';
import { accountTranslator, plainAccountPage, renderAccount } from './render.js';

/**
 * The account page at /ui/account on every instance host: users manage their own sign-in. It is
 * a built-in OIDC client of its instance (tessera-account), signing in through the instance's own
 * login exactly as the console does (src/webapp), with its own server-side sessions; its pages
 * call the same domain services as the APIs, always acting as the signed-in user on themselves.
 */
export interface AccountDeps {
  deps: ServiceDeps;
  knex: Runtime['db']['knex'];
  pool: ProviderPool;
  notifier: Notifier;
}

/** script-src 'self': the passkey ceremonies load two static scripts (never inline). */
export const ACCOUNT_CSP =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; " +
  "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'";

async function securityHeaders(ctx: Context, next: Next): Promise<void> {
  await next();
  ctx.set('Content-Security-Policy', ACCOUNT_CSP);
  ctx.set('Referrer-Policy', 'same-origin');
}

const localeOf = (ctx: Context, preferred?: string | null): Locale => pickLocale({ acceptLanguage: ctx.get('accept-language'), preferred });

/** Signing in again before a sensitive change (src/domain/recent-sign-in.ts): the login asks afresh, the login name filled in. */
function reauthParams(ctx: Context): Record<string, string> {
  if (ctx.query.reauth !== '1') return {};
  const hint = typeof ctx.query.hint === 'string' ? ctx.query.hint.slice(0, 300) : '';
  return { prompt: 'login', max_age: '0', ...(hint ? { login_hint: hint } : {}) };
}

export function accountRoutes(d: AccountDeps): Middleware {
  const sessions = new WebAppSessions(
    d.knex,
    d.deps.box,
    {
      idleMs: d.deps.config.ui.sessionIdleS * 1000,
      absoluteMs: d.deps.config.ui.sessionAbsoluteS * 1000,
    },
    { app: 'account', base: paths.home },
  );
  const rp = new BuiltInRelyingParty(d.pool, d.deps.box, ACCOUNT_CLIENT_ID);

  const open = new Router({ prefix: paths.home });
  signInRoutes(open, {
    rp,
    sessions,
    localeOf,
    plainPage: (ctx, status, title, message) => plainAccountPage(ctx, localeOf(ctx), status, title, message),
    extraParams: reauthParams,
  });

  const signedIn = new Router({ prefix: paths.home });
  profilePages(signedIn, d.notifier);
  emailPages(signedIn, d.notifier);
  passwordPages(signedIn, d.notifier);
  passkeyPages(signedIn);
  securityPages(signedIn);
  identityPages(signedIn);
  identityLinkPages(signedIn);
  sessionPages(signedIn);
  applicationPages(signedIn, d.pool);

  const requireSession: Middleware = async (ctx, next) => {
    const session = await sessions.resume(ctx);
    if (!session) {
      // An upstream IdP's answer to "Link" is only good in the session that asked: signing in now would not make it so.
      if (ctx.path === upstreamCallback.accountLinkReturn) {
        return plainAccountPage(ctx, localeOf(ctx), 400, 'identities.linkFailedTitle', 'identities.linkNoSession');
      }
      const returnTo = ctx.method === 'GET' ? ctx.originalUrl : paths.home;
      ctx.redirect(`${paths.home}/sign-in?return=${encodeURIComponent(returnTo)}`);
      return;
    }
    const scope = new Scope(d.knex, ctx.state.instanceId);
    const svc = { deps: d.deps, scope, actor: session.actor };
    const me = await ownProfile(svc);
    const locale = localeOf(ctx, me?.preferredLanguage);
    const branding = await loadBranding(scope, session.actor.orgId);
    const state: AccountState = {
      session,
      svc,
      userId: session.actor.userId,
      locale,
      t: accountTranslator(locale),
      csrf: csrfTokenOf(session),
      me: { name: me?.name ?? '', loginName: me?.loginName ?? '' },
      branding: { themeUrl: branding.themeUrl, logoUrl: branding.assets.logo_light, iconUrl: branding.assets.icon_light, name: branding.orgName },
      setData: (patch) => setUiSessionData(scope, session, patch),
    };
    ctx.state.account = state;
    if (ctx.method === 'POST' && !csrfMatches(session, (ctx.request as { body?: Record<string, unknown> }).body?._csrf)) {
      await renderAccount(ctx, 'message', { heading: state.t('csrf.title'), message: state.t('csrf.message') }, { titleKey: 'csrf.title', status: 403 });
      return;
    }
    await next();
    // As the API does: a write's notices are heard before the answer goes out, so the page the
    // browser goes to next (and any other door of this process) sees the change at once.
    if (ctx.method === 'POST') await d.pool.claimsCache?.sync();
  };

  const form = bodyParser({ enableTypes: ['form'], formLimit: '64kb' });
  const chain = compose([securityHeaders, renderFailures, form, open.routes() as Middleware, requireSession, signedIn.routes() as Middleware, notFound]);
  return async function account(ctx, next) {
    if (ctx.path !== paths.home && !ctx.path.startsWith(`${paths.home}/`)) return next();
    await chain(ctx, async () => undefined);
  };
}

async function notFound(ctx: Context): Promise<void> {
  if (ctx.status === 404 && !ctx.body && ctx.state.account) {
    const a = ctx.state.account as AccountState;
    await renderAccount(ctx, 'message', { heading: a.t('notFound.title'), message: a.t('notFound.message') }, { titleKey: 'notFound.title', status: 404 });
  }
}

/** Errors as pages; what is not the user's own is a 404 like what does not exist. */
async function renderFailures(ctx: Context, next: Next): Promise<void> {
  try {
    await next();
  } catch (err) {
    const a = ctx.state.account as AccountState | undefined;
    if (!a) throw err;
    if (isReauthenticationRequired(err)) {
      // The domain wants a recent sign-in (src/domain/recent-sign-in.ts): through the login again,
      // then back to the page (a form's own page: its path shows it again).
      redirectToSignInAgain(ctx, ctx.method === 'GET' ? ctx.originalUrl : ctx.path);
    } else if (err instanceof DomainError && (err.code === 'not_found' || err.code === 'permission_denied')) {
      await renderAccount(ctx, 'message', { heading: a.t('notFound.title'), message: a.t('notFound.message') }, { titleKey: 'notFound.title', status: 404 });
    } else if (err instanceof DomainError) {
      await renderAccount(ctx, 'message', { heading: a.t('error.title'), message: err.message }, { titleKey: 'error.title', status: err.status });
    } else {
      ctx.app.emit('error', err, ctx);
      await renderAccount(ctx, 'message', { heading: a.t('error.title'), message: a.t('error.internal') }, { titleKey: 'error.title', status: 500 });
    }
  }
}
