import compose from 'koa-compose';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import Router from '@koa/router';
import { bodyParser } from '@koa/bodyparser';
import type { Context, Middleware, Next } from 'koa';
import { permissionsOf } from '../domain/authorization.js';
import { Scope } from '../db/scope.js';
import type { ServiceDeps } from '../domain/deps.js';
import { orgsInReach } from '../domain/org/queries.js';
import { setUiSessionData } from '../domain/session/service.js';
import { ownProfile } from '../domain/user/queries.js';
import { loadBranding } from '../ui/branding.js';
import { viewsDir } from '../ui/render.js';
import type { Notifier } from '../notify/notifier.js';
import type { ProviderPool } from '../oidc/pool.js';
import type { Runtime } from '../runtime/index.js';
import { DomainError } from '../shared/errors.js';
import { homeArea } from './areas/home.js';
import { orgArea } from './areas/org.js';
import { projectsArea } from './areas/projects.js';
import { grantedArea } from './areas/granted.js';
import { userGrantsArea } from './areas/user-grants.js';
import { orgMembersArea } from './areas/members.js';
import { auditArea } from './areas/audit.js';
import { explainerArea } from './areas/explainer.js';
import { usersArea } from './areas/users.js';
import { policiesArea } from './areas/policies.js';
import { idpsArea } from './areas/idps.js';
import { instanceArea } from './areas/instance.js';
import { brandingArea } from './areas/branding.js';

import { readUploads } from './areas/uploads.js';
import { paths, type ConsoleState } from './context.js';
import { consoleTranslator, pickLocale, type Locale } from './i18n.js';
import type { NavEntry } from './nav.js';
import { messagePage, notFoundPage, plainPage } from './render.js';
import { CONSOLE_CLIENT_ID } from '../oidc/builtin-clients.js';
import { BuiltInRelyingParty } from '../webapp/relying-party.js';
import { csrfMatches, csrfTokenOf, WebAppSessions } from '../webapp/sessions.js';
import { signInRoutes } from '../webapp/sign-in-routes.js';

/**
 * The console at /ui/console: an OIDC client of its own instance (sign-in.ts) with server-side
 * sessions (session.ts), whose pages call the same domain services and queries as the APIs.
 *
 * An area is one module (areas/*.ts) exporting a ConsoleArea: its routes and, if it has one, its
 * navigation entry with the permission that shows it. Add it to `areas` below.
 */
export interface ConsoleDeps {
  deps: ServiceDeps;
  knex: Runtime['db']['knex'];
  pool: ProviderPool;
  notifier: Notifier;
}

export interface ConsoleArea {
  nav?: NavEntry;
  /** routes under /ui/console, signed in, CSRF checked on POST, ctx.state.console set */
  routes(router: Router, deps: ConsoleDeps): void;
}

const areas: ConsoleArea[] = [
  homeArea,
  orgArea,
  usersArea,
  projectsArea,
  grantedArea,
  userGrantsArea,
  orgMembersArea,
  auditArea,
  explainerArea,
  policiesArea,
  brandingArea,
  idpsArea,
  instanceArea,
];

export const CONSOLE_CSP =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; " +
  "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'";

async function securityHeaders(ctx: Context, next: Next): Promise<void> {
  await next();
  // A page may narrow it further for itself (the mail preview), never widen it for script.
  const csp = (ctx.state.consoleCsp as string | undefined) ?? CONSOLE_CSP;
  if (ctx.state.consoleFrameable) {
    // The login page preview, and nothing else, may be framed: by the console's own pages (its editor).
    ctx.set('Content-Security-Policy', csp.replace("frame-ancestors 'none'", "frame-ancestors 'self'"));
    ctx.set('X-Frame-Options', 'SAMEORIGIN');
  } else ctx.set('Content-Security-Policy', csp);
  ctx.set('Referrer-Policy', 'same-origin');
}

const assets: Record<string, string> = {
  'console.css': 'text/css; charset=utf-8',
  'console.js': 'text/javascript; charset=utf-8',
  // the login policy editor's live preview (linked by that page only, PageOptions.scripts)
  'login-preview.js': 'text/javascript; charset=utf-8',
};

export function consoleRoutes(d: ConsoleDeps): Middleware {
  const sessions = new WebAppSessions(
    d.knex,
    d.deps.box,
    {
      idleMs: d.deps.config.ui.sessionIdleS * 1000,
      absoluteMs: d.deps.config.ui.sessionAbsoluteS * 1000,
    },
    { app: 'console', base: '/ui/console' },
  );
  const rp = new BuiltInRelyingParty(d.pool, d.deps.box, CONSOLE_CLIENT_ID);
  const navEntries = areas.flatMap((a) => (a.nav ? [a.nav] : []));

  const open = new Router({ prefix: '/ui/console' });
  open.get('/assets/:file', async (ctx) => {
    const type = assets[ctx.params.file];
    if (!type) {
      ctx.status = 404;
      return;
    }
    ctx.type = type;
    ctx.set('Cache-Control', 'public, max-age=3600');
    ctx.set('X-Content-Type-Options', 'nosniff');
    ctx.body = readFileSync(path.join(viewsDir, 'console', 'assets', ctx.params.file));
  });
  signInRoutes(open, { rp, sessions, localeOf, plainPage: (ctx, status, title, message) => plainPage(ctx, localeOf(ctx), status, title, message) });

  const signedIn = new Router({ prefix: '/ui/console' });
  for (const area of areas) area.routes(signedIn, d);

  const requireSession: Middleware = async (ctx, next) => {
    const session = await sessions.resume(ctx);
    if (!session) {
      // The page asked for comes back after sign-in (a form's data does not: it is re-entered).
      const returnTo = ctx.method === 'GET' ? ctx.originalUrl : paths.home;
      ctx.redirect(`/ui/console/sign-in?return=${encodeURIComponent(returnTo)}`);
      return;
    }
    const scope = new Scope(d.knex, ctx.state.instanceId);
    // A page (GET) only reads: the caller's memberships are loaded once for all its permission checks.
    const svc = { deps: d.deps, scope, actor: session.actor, ...(ctx.method === 'GET' ? { readOnlyRequest: {} } : {}) };
    const [perms, me] = await Promise.all([permissionsOf(svc), ownProfile(svc)]);
    const locale = localeOf(ctx, me?.preferredLanguage);
    const state: ConsoleState = {
      session,
      svc,
      perms,
      locale,
      t: consoleTranslator(locale),
      csrf: csrfTokenOf(session),
      me: { userId: session.actor.userId, name: me?.name ?? '' },
      orgChoices: [],
      branding: { name: '' },
      navEntries,
      paths,
      setData: (patch) => setUiSessionData(scope, session, patch),
    };
    ctx.state.console = state;
    if (ctx.method === 'POST' && ctx.is('multipart/form-data')) {
      // Upload forms: their fields (the CSRF token among them) and files, read once a session exists.
      const uploads = await readUploads(ctx);
      (ctx.request as { body?: unknown }).body = uploads?.fields ?? {};
      ctx.state.uploads = uploads;
    }
    if (ctx.method === 'POST' && !csrfMatches(session, (ctx.request as { body?: Record<string, unknown> }).body?._csrf)) {
      await messagePage(ctx, 403, 'csrf.title', state.t('csrf.message'));
      return;
    }
    const [reach, branding] = await Promise.all([orgsInReach(svc, {}, { offset: 0, limit: 50, asc: true, sort: 'name' }), loadBranding(scope, null)]);
    state.orgChoices = reach.rows.map((o) => ({ id: o.id, name: o.name }));
    state.branding = { themeUrl: branding.themeUrl, logoUrl: branding.assets.logo_light, iconUrl: branding.assets.icon_light, name: branding.orgName };
    await next();
    // As the API does: a write's notices are heard before the answer goes out, so the page the
    // browser goes to next (and any other door of this process) sees the change at once.
    if (ctx.method === 'POST') await d.pool.claimsCache?.sync();
  };

  const form = bodyParser({ enableTypes: ['form'], formLimit: '64kb' });
  const inConsole = compose([
    securityHeaders,
    renderFailures,
    form,
    ...([open.routes(), open.allowedMethods()] as unknown as Middleware[]),
    requireSession,
    ...([signedIn.routes(), signedIn.allowedMethods()] as unknown as Middleware[]),
    unknownPage,
  ]);
  return async function console(ctx, next) {
    if (ctx.path !== '/ui/console' && !ctx.path.startsWith('/ui/console/')) return next();
    await inConsole(ctx, async () => undefined);
  };
}

function localeOf(ctx: Context, preferred?: string | null): Locale {
  return pickLocale({ acceptLanguage: ctx.get('accept-language'), preferred });
}

async function unknownPage(ctx: Context): Promise<void> {
  if (ctx.status === 404 && !ctx.body) await notFoundPage(ctx);
}

/** Errors as pages: what the caller may not see is a 404 like what does not exist. */
async function renderFailures(ctx: Context, next: Next): Promise<void> {
  try {
    await next();
  } catch (err) {
    if (!ctx.state.console) throw err;
    if (err instanceof DomainError && (err.code === 'not_found' || err.code === 'permission_denied')) {
      await notFoundPage(ctx);
    } else if (err instanceof DomainError) {
      await messagePage(ctx, err.status, 'error.title', err.message);
    } else {
      ctx.app.emit('error', err, ctx);
      await messagePage(ctx, 500, 'error.title', (ctx.state.console as ConsoleState).t('error.internal'));
    }
  }
}
