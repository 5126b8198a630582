import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import Router from '@koa/router';
import type { Knex } from 'knex';
import type { Middleware } from 'koa';
import { Scope } from '../db/scope.js';
import { assetKinds, getLabelAsset, type AssetKind } from '../domain/policy/label-assets.js';
import { BRANDING_PATH, labelCss, loadBranding, themeRules } from './branding.js';
import { viewsDir } from './render.js';

/** Where the stylesheet every page links (views/layout.ejs) is served. */
const STATIC_PATH = '/ui/login/assets';
export const STYLESHEET_PATH = `${STATIC_PATH}/login.css`;

/** The assets as a page module (src/http/pages.ts): mounted before the pages, as its paths lie under /ui/login. */
export function uiAssets(knex: Knex): { name: string; prefixes: string[]; routes: Middleware } {
  return { name: 'ui assets', prefixes: [STATIC_PATH, BRANDING_PATH], routes: uiAssetRoutes(knex).routes() as Middleware };
}

/**
 * The passkey ceremonies' scripts, linked by the pages that offer passkeys (never inline):
 * @simplewebauthn/browser's bundle, as published, and ours that drives the forms.
 */
export const WEBAUTHN_SCRIPT_PATH = '/ui/login/assets/webauthn.js';
export const PASSKEY_SCRIPT_PATH = '/ui/login/assets/passkey.js';
const scripts: Record<string, string> = {
  // The package exports only its entry points; the bundle sits beside them (wherever npm put the package).
  [WEBAUTHN_SCRIPT_PATH]: path.resolve(
    path.dirname(createRequire(import.meta.url).resolve('@simplewebauthn/browser')),
    '..',
    'dist',
    'bundle',
    'index.umd.min.js',
  ),
  [PASSKEY_SCRIPT_PATH]: path.join(viewsDir, 'assets', 'passkey.js'),
};

/**
 * What every page loads besides itself, for the instance of the request's host: the base
 * stylesheet, the branding's theme (GET {BRANDING_PATH}/{orgId|instance}/theme.css) and the
 * uploaded logos, icons and font (GET {BRANDING_PATH}/{orgId|instance}/{kind}).
 */
export function uiAssetRoutes(knex: Knex): Router {
  const router = new Router();
  const scopeOf = (ctx: { state: { instanceId: string } }) => new Scope(knex, ctx.state.instanceId);
  const owner = (p: string) => (p === 'instance' ? null : /^\d{1,30}$/.test(p) ? p : undefined);

  router.get(STYLESHEET_PATH, async (ctx) => {
    ctx.type = 'text/css';
    ctx.set('Cache-Control', 'public, max-age=3600');
    ctx.body = await readFile(path.join(viewsDir, 'assets', 'login.css'));
  });

  for (const [url, file] of Object.entries(scripts)) {
    router.get(url, async (ctx) => {
      ctx.type = 'text/javascript; charset=utf-8';
      ctx.set('Cache-Control', 'public, max-age=3600');
      ctx.set('X-Content-Type-Options', 'nosniff');
      ctx.body = await readFile(file);
    });
  }

  router.get(`${BRANDING_PATH}/:owner/theme.css`, async (ctx) => {
    const orgId = owner(ctx.params.owner);
    if (orgId === undefined) {
      ctx.status = 404;
      return;
    }
    const branding = await loadBranding(scopeOf(ctx), orgId);
    ctx.type = 'text/css; charset=utf-8';
    ctx.set('Cache-Control', ctx.query.v ? 'public, max-age=86400' : 'no-cache');
    ctx.body = labelCss(branding.label, branding.assets.font) + themeRules;
  });

  router.get(`${BRANDING_PATH}/:owner/:kind`, async (ctx) => {
    const orgId = owner(ctx.params.owner);
    const kind = ctx.params.kind as AssetKind;
    if (orgId === undefined || !assetKinds.includes(kind)) {
      ctx.status = 404;
      return;
    }
    const row = await getLabelAsset(scopeOf(ctx), orgId, kind);
    if (!row) {
      ctx.status = 404;
      return;
    }
    ctx.type = row.content_type;
    // An uploaded SVG must not run script in our origin.
    ctx.set('Content-Security-Policy', "default-src 'none'; style-src 'unsafe-inline'; sandbox");
    ctx.set('X-Content-Type-Options', 'nosniff');
    ctx.set('Cache-Control', ctx.query.v ? 'public, max-age=86400, immutable' : 'no-cache');
    ctx.body = row.data;
  });
  return router;
}
