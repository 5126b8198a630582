import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ejs from 'ejs';

/** Server-rendered pages: a view rendered into views/layout.ejs. Values are escaped by `<%= %>`. */
const here = path.dirname(fileURLToPath(import.meta.url));
export const viewsDir = [path.resolve(here, '../../views'), path.resolve(here, '../../../views'), path.resolve('views')]
  .find((dir) => existsSync(path.join(dir, 'layout.ejs'))) ?? path.resolve('views');

/** `frame`: the layout's branding (theme, logo, language, privacy links, watermark), see src/login/pages.ts. */
export async function renderPage(view: string, title: string, data: Record<string, unknown>, frame: Record<string, unknown> = {}): Promise<string> {
  const body = await ejs.renderFile(path.join(viewsDir, `${view}.ejs`), data, { async: true });
  return ejs.renderFile(path.join(viewsDir, 'layout.ejs'), { title, body, frame }, { async: true });
}

export interface HtmlTarget { status: number; type: string; body: unknown; set(field: string, value: string): void }

export async function sendPage(ctx: HtmlTarget, view: string, title: string, data: Record<string, unknown>, status = 200): Promise<void> {
  ctx.status = status;
  ctx.type = 'text/html; charset=utf-8';
  ctx.set('Cache-Control', 'no-store');
  ctx.body = await renderPage(view, title, data);
}

export function sendErrorPage(ctx: HtmlTarget, status: number, code: string, message: string, details?: string): Promise<void> {
  return sendPage(ctx, 'error', 'Sign-in error', { heading: 'We could not sign you in', code, message, details: details ?? '' }, status);
}
