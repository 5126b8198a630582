import path from 'node:path';
import type { Context } from 'koa';
import ejs from 'ejs';
import { TEMPLATE_OPTIONS } from '../shared/templates.js';
import { viewsDir } from '../ui/render.js';
import type { ConsoleState } from './context.js';
import { consoleTranslator, type Locale } from './i18n.js';
import { navFor } from './nav.js';

/**
 * Console pages: a view from views/console rendered into views/console/layout.ejs. Values are
 * escaped by `<%= %>`; views get `t` (the visitor's language), `csrf` for their forms, and
 * `values`/`errors` when a form comes back with bad input.
 */
export interface PageOptions {
  titleKey: string;
  titleVars?: Record<string, string>;
  status?: number;
  navKey?: string;
}

/** A moment as pages show it: to the minute, in UTC, said so. */
export const formatTime = (d: Date | string | null | undefined): string => (d ? `${new Date(d).toISOString().replace('T', ' ').slice(0, 16)} UTC` : '—');

const view = (name: string) => path.join(viewsDir, 'console', `${name}.ejs`);

export async function renderConsole(ctx: Context, name: string, data: Record<string, unknown>, opts: PageOptions): Promise<void> {
  const c = ctx.state.console as ConsoleState;
  const flash = c.session?.data.flash as { kind: string; text: string } | undefined;
  if (flash) await c.setData({ flash: undefined });
  const common = { t: c.t, csrf: c.csrf, org: c.org, perms: c.perms, values: {}, errors: {}, formError: undefined, paths: c.paths, fmt: formatTime };
  const body = await ejs.renderFile(view(name), { ...common, ...data }, TEMPLATE_OPTIONS);
  const title = c.t(opts.titleKey, opts.titleVars);
  ctx.status = opts.status ?? 200;
  ctx.type = 'text/html; charset=utf-8';
  ctx.set('Cache-Control', 'no-store');
  ctx.body = await ejs.renderFile(
    view('layout'),
    {
      ...common,
      title,
      body,
      flash,
      lang: c.locale,
      branding: c.branding,
      me: c.me,
      nav: c.session ? navFor(c, opts.navKey) : [],
      orgs: c.orgChoices,
      signedIn: Boolean(c.session),
    },
    TEMPLATE_OPTIONS,
  );
}

/** The console's 404: for what does not exist and for what the caller may not see alike. */
export function notFoundPage(ctx: Context): Promise<void> {
  return renderConsole(ctx, 'not-found', {}, { titleKey: 'notFound.title', status: 404 });
}

export function messagePage(ctx: Context, status: number, titleKey: string, message: string): Promise<void> {
  return renderConsole(ctx, 'message', { heading: (ctx.state.console as ConsoleState).t(titleKey), message }, { titleKey, status });
}

/** A page outside a session (no navigation): signed out, sign-in failed. */
export async function plainPage(ctx: Context, locale: Locale, status: number, titleKey: string, messageKey: string): Promise<void> {
  const t = consoleTranslator(locale);
  ctx.status = status;
  ctx.type = 'text/html; charset=utf-8';
  ctx.set('Cache-Control', 'no-store');
  const body = await ejs.renderFile(view('plain'), { t, heading: t(titleKey), message: t(messageKey) }, TEMPLATE_OPTIONS);
  ctx.body = await ejs.renderFile(
    view('layout'),
    {
      t,
      title: t(titleKey),
      body,
      lang: locale,
      branding: { name: '' },
      me: undefined,
      nav: [],
      orgs: [],
      signedIn: false,
      csrf: '',
      org: undefined,
      flash: undefined,
      paths: {},
    },
    TEMPLATE_OPTIONS,
  );
}
