import type Router from '@koa/router';
import type { Context, Middleware } from 'koa';
import { z } from 'zod';
import { assetContentTypes, assetKinds, MAX_ASSET_BYTES, removeLabelAsset, setLabelAsset, type AssetKind } from '../../domain/policy/label-assets.js';
import { atPolicyVersion, labelAssetsOf, policyForEditing } from '../../domain/policy/queries.js';
import { resetOrgPolicy, setInstancePolicy, setOrgPolicy } from '../../domain/policy/service.js';
import { renderMail } from '../../mail/render.js';
import { DomainError } from '../../shared/errors.js';
import { assetPath, loadBranding } from '../../ui/branding.js';
import { sendHtml } from '../../ui/render.js';
import { consoleState, flash, paths } from '../context.js';
import { buttonAction, formBody, parseForm, policyVersion, refusal, type FieldErrors } from '../forms.js';
import type { ConsoleArea } from '../index.js';
import { renderConsole } from '../render.js';
import { inOrg } from './home.js';
import { atInstance } from './instance-guard.js';
import { parsePolicyForm, policyFields } from './policy-fields.js';
import type { Upload, Uploads } from './uploads.js';

/**
 * Branding: the label policy's colours (light and dark), font name and switches, and its logo,
 * icon and font files, for an org (and, at /instance/branding, the instance default). The files
 * are uploaded in one multipart form; each is checked against the kind's types and size before
 * any is stored, and all are stored in one transaction. Previews: the login page (the Policies
 * area's preview) and a mail, both in this branding.
 */
interface Level {
  orgId: string | null;
  base: string;
  navKey: string;
  loginPreview: string;
}

const versionForm = z.object({ version: policyVersion });
const kindForm = z.object({ kind: z.enum(assetKinds) });

function levelOf(ctx: Context, instance: boolean): Level {
  if (instance) return { orgId: null, base: paths.instanceBranding, navKey: 'instance', loginPreview: `${paths.instancePolicies}/login/preview` };
  const orgId = consoleState(ctx).org!.id;
  return { orgId, base: paths.branding(orgId), navKey: 'branding', loginPreview: `${paths.policies(orgId)}/login/preview` };
}

function may(ctx: Context, level: Level): { write: boolean; reset: boolean } {
  const { perms } = consoleState(ctx);
  if (!level.orgId) return { write: perms.can('iam.policy.write', {}), reset: false };
  return { write: perms.can('policy.write', { orgId: level.orgId }), reset: perms.can('policy.delete', { orgId: level.orgId }) };
}

type PageState = { form?: 'colours' | 'files'; values?: Record<string, unknown>; errors?: FieldErrors; version?: unknown };

async function brandingPage(ctx: Context, level: Level, state: PageState = {}, status = 200): Promise<void> {
  const c = consoleState(ctx);
  const [policy, assets] = await Promise.all([policyForEditing(c.svc, level.orgId, 'label'), labelAssetsOf(c.svc, level.orgId)]);
  const owner = level.orgId ?? 'instance';
  await renderConsole(
    ctx,
    'branding',
    {
      level,
      policy,
      fields: policyFields('label'),
      assets: assets.map((a) => ({ ...a, url: assetPath(owner, a.kind, new Date(a.updatedAt).getTime()) })),
      kinds: assetKinds,
      accept: assetContentTypes,
      maxKiB: MAX_ASSET_BYTES / 1024,
      can: may(ctx, level),
      form: state.form,
      values: state.form === 'colours' ? state.values : policy.settings,
      errors: state.errors ?? {},
      shownVersion: state.version ?? policy.version,
    },
    { titleKey: 'branding.title', navKey: level.navKey, status },
  );
}

/** What is wrong with each uploaded file, by field; an empty result: all may be stored. */
function checkUploads(ctx: Context, uploads: Map<string, Upload>): FieldErrors {
  const { t } = consoleState(ctx);
  const errors: FieldErrors = {};
  for (const [field, file] of uploads) {
    const kind = field as AssetKind;
    if (!assetKinds.includes(kind)) continue;
    if (!assetContentTypes[kind].includes(file.contentType)) errors[field] = t('branding.wrongType', { types: assetContentTypes[kind].join(', ') });
    else if (file.data.length > MAX_ASSET_BYTES) errors[field] = t('branding.tooBig', { kib: String(MAX_ASSET_BYTES / 1024) });
  }
  return errors;
}

export function brandingRoutes(router: Router, instance: boolean): void {
  const prefix = instance ? '/instance/branding' : '/orgs/:orgId/branding';
  const guard: Middleware = instance ? atInstance('iam.policy.read') : inOrg;

  router.get(prefix, guard, (ctx) => brandingPage(ctx, levelOf(ctx, instance)));

  router.post(prefix, guard, async (ctx) => {
    const c = consoleState(ctx);
    const level = levelOf(ctx, instance);
    await policyForEditing(c.svc, level.orgId, 'label');
    const seen = parseForm(ctx, versionForm);
    const shownVersion = seen.ok ? seen.data.version : undefined;
    const form = parsePolicyForm('label', formBody(ctx), c.t);
    if (!form.ok) return brandingPage(ctx, level, { form: 'colours', values: form.values, errors: form.errors, version: shownVersion }, 400);
    try {
      await atPolicyVersion(c.svc, level.orgId, 'label', shownVersion, (svc) =>
        level.orgId ? setOrgPolicy(svc, level.orgId, 'label', form.settings) : setInstancePolicy(svc, 'label', form.settings),
      );
    } catch (err) {
      const stale = err instanceof DomainError && err.code === 'precondition_failed';
      return brandingPage(ctx, level, { form: 'colours', values: form.settings, errors: refusal(ctx, err), version: shownVersion }, stale ? 409 : 400);
    }
    await flash(ctx, 'ok', c.t('branding.saved'));
    ctx.redirect(level.base);
  });

  if (!instance) {
    router.post(`${prefix}/reset`, guard, async (ctx) => {
      const c = consoleState(ctx);
      const level = levelOf(ctx, instance);
      await policyForEditing(c.svc, level.orgId, 'label');
      const seen = parseForm(ctx, versionForm);
      await buttonAction(
        ctx,
        () => atPolicyVersion(c.svc, level.orgId, 'label', seen.ok ? seen.data.version : undefined, (svc) => resetOrgPolicy(svc, level.orgId!, 'label')),
        c.t('branding.wasReset'),
        level.base,
      );
    });
  }

  // The files: multipart, read here (the console's body parser takes forms only), CSRF checked here.
  router.post(`${prefix}/files`, guard, async (ctx) => {
    const c = consoleState(ctx);
    const level = levelOf(ctx, instance);
    await policyForEditing(c.svc, level.orgId, 'label');
    const uploads = ctx.state.uploads as Uploads | undefined;
    if (!uploads) return brandingPage(ctx, level, { form: 'files', errors: { _form: c.t('branding.uploadRefused') } }, 400);
    const files = new Map([...uploads.files].filter(([field]) => (assetKinds as readonly string[]).includes(field)));
    if (!files.size) return brandingPage(ctx, level, { form: 'files', errors: { _form: c.t('branding.noFile') } }, 400);
    const errors = checkUploads(ctx, files);
    if (Object.keys(errors).length) return brandingPage(ctx, level, { form: 'files', errors }, 400);
    await c.svc.scope.transaction(async (scope) => {
      for (const [kind, file] of files) await setLabelAsset({ ...c.svc, scope }, level.orgId, kind as AssetKind, file.contentType, file.data);
    });
    await flash(ctx, 'ok', c.t('branding.uploaded', { count: files.size }));
    ctx.redirect(level.base);
  });

  router.post(`${prefix}/files/remove`, guard, async (ctx) => {
    const c = consoleState(ctx);
    const level = levelOf(ctx, instance);
    const form = parseForm(ctx, kindForm);
    if (!form.ok) return ctx.redirect(level.base);
    await buttonAction(ctx, () => removeLabelAsset(c.svc, level.orgId, form.data.kind), c.t('branding.fileRemoved'), level.base);
  });

  // A mail in this branding, as the users will get it (a password reset, with made-up values).
  router.get(`${prefix}/mail-preview`, guard, async (ctx) => {
    const c = consoleState(ctx);
    const level = levelOf(ctx, instance);
    await policyForEditing(c.svc, level.orgId, 'label');
    const branding = await loadBranding(c.svc.scope, level.orgId);
    const origin = ctx.state.origin as string;
    const mail = await renderMail(
      { kind: 'passwordReset', code: 'K7Q2XP', link: `${origin}/ui/login/reset?preview`, expiresMin: 60 },
      { locale: c.locale, branding, origin, recipientName: c.me.name || 'Ada Lovelace', loginName: 'ada@example.com' },
    );
    // The mail's own inline styles may apply here, and nothing else: no script, no form, sandboxed.
    ctx.state.consoleCsp = "default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'; font-src 'self'; sandbox";
    sendHtml(ctx, 200, mail.html);
  });
}

export const brandingArea: ConsoleArea = {
  nav: { key: 'branding', labelKey: 'nav.branding', order: 72, permission: 'policy.read', path: paths.branding },
  routes(router) {
    brandingRoutes(router, false);
  },
};
