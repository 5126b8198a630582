import path from 'node:path';
import ejs from 'ejs';
import { TEMPLATE_OPTIONS } from '../shared/templates.js';
import { paths } from '../shared/paths.js';
import type { Branding } from './branding.js';
import type { Locale, Translate } from './i18n.js';

/**
 * Server-rendered pages: a view (views/<area>/<name>.ejs) rendered into views/layout.ejs.
 * Values are escaped by `<%= %>`. Every UI (login, console, account) renders through here, so
 * they share the layout, its branding and its footer.
 */
export const viewsDir = paths.views;

/** What views/layout.ejs shows around a page: language, theme, logo, icon, privacy links, watermark. */
export interface LayoutFrame {
  lang?: Locale;
  themeUrl?: string;
  logoUrl?: string;
  logoDarkUrl?: string;
  iconUrl?: string;
  orgName?: string;
  privacy?: Branding['privacy'];
  watermark?: boolean;
  t?: Translate;
}

/** The layout frame of a branded page (see ui/branding.ts for where the branding comes from). */
export function brandedFrame(branding: Branding, locale: Locale, t: Translate): LayoutFrame {
  return {
    lang: locale,
    themeUrl: branding.themeUrl,
    logoUrl: branding.assets.logo_light ?? '',
    logoDarkUrl: branding.assets.logo_dark ?? '',
    iconUrl: branding.assets.icon_light ?? '',
    orgName: branding.orgName,
    privacy: branding.privacy,
    watermark: !branding.label.disableWatermark,
    t,
  };
}

export async function renderPage(view: string, title: string, data: Record<string, unknown>, frame: LayoutFrame = {}): Promise<string> {
  const body = await ejs.renderFile(path.join(viewsDir, `${view}.ejs`), data, TEMPLATE_OPTIONS);
  return ejs.renderFile(path.join(viewsDir, 'layout.ejs'), { title, body, frame }, TEMPLATE_OPTIONS);
}

/** Where a page goes: a Koa context, or anything shaped like one (oidc-provider's page hooks). */
export interface HtmlTarget {
  status: number;
  type: string;
  body: unknown;
  set(field: string, value: string): void;
}

/** An HTML answer, never cached: pages carry session-bound forms and personal data. */
export function sendHtml(ctx: HtmlTarget, status: number, html: string): void {
  ctx.status = status;
  ctx.type = 'text/html; charset=utf-8';
  ctx.set('Cache-Control', 'no-store');
  ctx.body = html;
}

export async function sendPage(
  ctx: HtmlTarget,
  view: string,
  title: string,
  data: Record<string, unknown>,
  status = 200,
  frame: LayoutFrame = {},
): Promise<void> {
  sendHtml(ctx, status, await renderPage(view, title, data, frame));
}

/**
 * A page of a web app with a layout of its own (the console, the account page): the view
 * views/<area>/<name>.ejs rendered into views/<area>/layout.ejs, which gets `layout` and the body.
 */
export async function sendAreaPage(
  ctx: HtmlTarget,
  area: string,
  name: string,
  data: Record<string, unknown>,
  layout: Record<string, unknown>,
  status = 200,
): Promise<void> {
  const body = await ejs.renderFile(path.join(viewsDir, area, `${name}.ejs`), data, TEMPLATE_OPTIONS);
  sendHtml(ctx, status, await ejs.renderFile(path.join(viewsDir, area, 'layout.ejs'), { ...layout, body }, TEMPLATE_OPTIONS));
}
