import path from 'node:path';
import type { Context, Next } from 'koa';
import type { Knex } from 'knex';
import ejs from 'ejs';
import { TEMPLATE_OPTIONS } from '../shared/templates.js';
import { Scope } from '../db/scope.js';
import { loadBranding } from '../ui/branding.js';
import { viewsDir } from '../ui/render.js';
import { CONSOLE_CSP } from './index.js';
import { consoleTranslator, pickLocale } from './i18n.js';

/**
 * `/` on every instance host: a small page in the instance's branding that points a person to
 * the console, the account page, the discovery document and the API reference.
 */
export function frontDoor(knex: Knex) {
  return async function frontDoorPage(ctx: Context, next: Next): Promise<void> {
    if (ctx.path !== '/' || (ctx.method !== 'GET' && ctx.method !== 'HEAD')) return next();
    const branding = await loadBranding(new Scope(knex, ctx.state.instanceId), null);
    const locale = pickLocale({ acceptLanguage: ctx.get('accept-language') });
    const t = consoleTranslator(locale);
    ctx.type = 'text/html; charset=utf-8';
    ctx.set('Cache-Control', 'no-cache');
    ctx.set('Content-Security-Policy', CONSOLE_CSP);
    ctx.body = await ejs.renderFile(
      path.join(viewsDir, 'console', 'front-door.ejs'),
      {
        t,
        lang: locale,
        name: branding.orgName,
        themeUrl: branding.themeUrl,
        logoUrl: branding.assets.logo_light,
        iconUrl: branding.assets.icon_light,
        origin: ctx.state.origin,
      },
      TEMPLATE_OPTIONS,
    );
  };
}
