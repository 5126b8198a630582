import type { Context } from 'koa';
import { sendAreaPage } from '../ui/render.js';
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
  /** scripts of this page besides console.js, by file name under /ui/console/assets/ */
  scripts?: string[];
}

/** A moment as pages show it: to the minute, in UTC, said so. */
export const formatTime = (d: Date | string | null | undefined): string => (d ? `${new Date(d).toISOString().replace('T', ' ').slice(0, 16)} UTC` : '—');

export async function renderConsole(ctx: Context, name: string, data: Record<string, unknown>, opts: PageOptions): Promise<void> {
  const c = ctx.state.console as ConsoleState;
  const flash = c.session?.data.flash as { kind: string; text: string } | undefined;
  if (flash) await c.setData({ flash: undefined });
  const common = { t: c.t, csrf: c.csrf, org: c.org, perms: c.perms, values: {}, errors: {}, formError: undefined, paths: c.paths, fmt: formatTime };
  await sendAreaPage(
    ctx,
    'console',
    name,
    { ...common, ...data },
    {
      ...common,
      title: c.t(opts.titleKey, opts.titleVars),
      flash,
      lang: c.locale,
      branding: c.branding,
      me: c.me,
      nav: c.session ? navFor(c, opts.navKey) : [],
      orgs: c.orgChoices,
      signedIn: Boolean(c.session),
      scripts: opts.scripts ?? [],
    },
    opts.status,
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
  await sendAreaPage(
    ctx,
    'console',
    'plain',
    { t, heading: t(titleKey), message: t(messageKey) },
    {
      t,
      title: t(titleKey),
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
    status,
  );
}
