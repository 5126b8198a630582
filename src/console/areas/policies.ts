import type Router from '@koa/router';
import type { Context, Middleware } from 'koa';
import { z } from 'zod';
import { atPolicyVersion, idpsOfferable, policyForEditing } from '../../domain/policy/queries.js';
import { policySchemas, type PolicySettings } from '../../domain/policy/schemas.js';
import { resetOrgPolicy, setInstancePolicy, setOrgPolicy } from '../../domain/policy/service.js';
import { offeredIdps } from '../../domain/sign-in.js';
import { loadBranding } from '../../ui/branding.js';
import { translator } from '../../ui/i18n.js';
import { brandedFrame, sendPage } from '../../ui/render.js';
import { DomainError } from '../../shared/errors.js';
import { consoleState, flash, paths } from '../context.js';
import { buttonAction, formBody, parseForm, policyVersion, refusal, type FieldErrors } from '../forms.js';
import type { ConsoleArea } from '../index.js';
import type { Translate } from '../i18n.js';
import { notFoundPage, renderConsole } from '../render.js';
import { inOrg } from './home.js';
import { atInstance } from './instance-guard.js';
import { editedKinds, parsePolicyForm, policyFields, type EditedKind } from './policy-fields.js';

/**
 * The Policies area: the login, password complexity, lockout, domain and notification policies
 * of an org (and, at /instance/policies, the instance defaults, with the same pages). Each form
 * shows every field of the policy with its help text; saving replaces the org's policy as a
 * whole (setOrgPolicy), only if nobody changed it since the form was shown; "reset" makes the
 * org follow the instance default again. The domain policy is an instance administrator's
 * setting (iam.policy.write), shown read-only to org managers (a forged POST is a 404). The
 * login policy's editor embeds a preview of the login page as the org's users will see it (an
 * iframe of GET …/login/preview, the one console page that may be framed, by the console only):
 * of the saved policy, or of the form's unsaved values carried in the query (`draft=1&…`), which
 * the "Preview" button (without JavaScript) and console.js (as fields change) put there.
 */
export interface PolicyLevel {
  orgId: string | null;
  base: string;
  navKey: string;
}

const versionForm = z.object({ version: policyVersion });

function levelOf(ctx: Context, instance: boolean): PolicyLevel {
  const c = consoleState(ctx);
  if (instance) return { orgId: null, base: paths.instancePolicies, navKey: 'instance' };
  const orgId = c.org!.id;
  return { orgId, base: paths.policies(orgId), navKey: 'policies' };
}

function mayWrite(ctx: Context, level: PolicyLevel, kind: EditedKind): { write: boolean; reset: boolean } {
  const { perms } = consoleState(ctx);
  const iam = perms.can('iam.policy.write', {});
  if (!level.orgId) return { write: iam, reset: false };
  if (kind === 'domain') return { write: iam, reset: iam };
  return { write: perms.can('policy.write', { orgId: level.orgId }), reset: perms.can('policy.delete', { orgId: level.orgId }) };
}

type FormState = { values?: Record<string, unknown>; errors?: FieldErrors; version?: unknown; preview?: Record<string, unknown> };

/** The preview's address: of the saved policy, or of these (valid) settings, as a query. */
export function previewHref(base: string, settings?: Record<string, unknown>): string {
  const href = `${base}/login/preview`;
  if (!settings) return href;
  const q = new URLSearchParams({ draft: '1' });
  for (const [name, v] of Object.entries(settings)) {
    if (v === true) q.append(name, 'on');
    else if (Array.isArray(v)) for (const item of v) q.append(name, String(item));
    else if (v !== false && v !== undefined && v !== null) q.append(name, String(v));
  }
  return `${href}?${q.toString()}`;
}

/**
 * The login policy a draft preview shows: the query's values, as the form would take them; a
 * field that would not be valid (a half-typed number) shows the saved value meanwhile.
 */
function draftSettings(query: Record<string, unknown>, saved: PolicySettings<'login'>, t: Translate): PolicySettings<'login'> {
  const form = parsePolicyForm('login', query, t);
  if (form.ok) return form.settings as PolicySettings<'login'>;
  const merged: Record<string, unknown> = { ...form.values };
  for (const field of Object.keys(form.errors)) merged[field] = (saved as Record<string, unknown>)[field];
  const again = policySchemas.login.safeParse(merged);
  return again.success ? again.data : saved;
}

async function overview(ctx: Context, level: PolicyLevel): Promise<void> {
  const c = consoleState(ctx);
  const kinds = [];
  for (const kind of editedKinds) {
    const p = await policyForEditing(c.svc, level.orgId, kind);
    kinds.push({ kind, isDefault: p.isDefault, href: `${level.base}/${kind}` });
  }
  await renderConsole(ctx, 'policies', { kinds, level }, { titleKey: level.orgId ? 'policies.title' : 'policies.instanceTitle', navKey: level.navKey });
}

async function editor(ctx: Context, level: PolicyLevel, kind: EditedKind, state: FormState = {}, status = 200): Promise<void> {
  const c = consoleState(ctx);
  const policy = await policyForEditing(c.svc, level.orgId, kind);
  const idps = kind === 'login' ? await idpsOfferable(c.svc, level.orgId) : [];
  const can = mayWrite(ctx, level, kind);
  await renderConsole(
    ctx,
    'policy',
    {
      kind,
      level,
      policy,
      fields: policyFields(kind),
      idps,
      can,
      values: state.values ?? policy.settings,
      errors: state.errors ?? {},
      shownVersion: state.version ?? policy.version,
      previewSrc: kind === 'login' ? previewHref(level.base, state.preview) : undefined,
    },
    { titleKey: `policies.${kind}.title`, navKey: level.navKey, status, scripts: kind === 'login' && can.write ? ['login-preview.js'] : [] },
  );
}

/** The login name page as the org's users will see it, in the login's own layout and branding, inert. */
async function loginPreview(ctx: Context, level: PolicyLevel, policy: PolicySettings<'login'>, draft: boolean): Promise<void> {
  const c = consoleState(ctx);
  // The editor frames it (src/console/index.ts turns this into frame-ancestors 'self', SAMEORIGIN).
  ctx.state.consoleFrameable = true;
  const t = translator(c.locale);
  const branding = await loadBranding(c.svc.scope, level.orgId);
  const idps = policy.allowExternalIdp ? await offeredIdps(c.svc.scope, level.orgId, policy.idpIds) : [];
  const look = { org: { orgId: level.orgId, source: 'scope' }, policy, branding, locale: c.locale, t, idps };
  await sendPage(
    ctx,
    'console/login-preview',
    t('login.title'),
    { t, ct: c.t, look, uid: 'preview', csrf: '', loginName: '', error: '', passkey: undefined, back: `${level.base}/login`, draft },
    200,
    brandedFrame(branding, c.locale, t),
  );
}

export function policyRoutes(router: Router, instance: boolean): void {
  const prefix = instance ? '/instance/policies' : '/orgs/:orgId/policies';
  const guard: Middleware = instance ? atInstance('iam.policy.read') : inOrg;
  const kindOf = (ctx: Context): EditedKind | undefined => (editedKinds as readonly string[]).find((k) => k === ctx.params.kind) as EditedKind | undefined;

  router.get(prefix, guard, (ctx) => overview(ctx, levelOf(ctx, instance)));

  // The login page of the saved policy, or (draft=1) of the values in the query; it only reads.
  router.get(`${prefix}/login/preview`, guard, async (ctx) => {
    const c = consoleState(ctx);
    const level = levelOf(ctx, instance);
    const policy = await policyForEditing(c.svc, level.orgId, 'login');
    const draft = ctx.query.draft === '1';
    await loginPreview(ctx, level, draft ? draftSettings(ctx.query, policy.settings, c.t) : policy.settings, draft);
  });

  // The editor's "Preview" button: the editor again, with the form's values kept and previewed, nothing saved.
  router.post(`${prefix}/login/preview`, guard, async (ctx) => {
    const c = consoleState(ctx);
    const level = levelOf(ctx, instance);
    await policyForEditing(c.svc, level.orgId, 'login');
    const version = formBody(ctx).version;
    const form = parsePolicyForm('login', formBody(ctx), c.t);
    if (!form.ok) return editor(ctx, level, 'login', { values: form.values, errors: form.errors, version }, 400);
    await editor(ctx, level, 'login', { values: form.settings, version, preview: form.settings });
  });

  router.get(`${prefix}/:kind`, guard, async (ctx) => {
    const kind = kindOf(ctx);
    if (!kind) return;
    await editor(ctx, levelOf(ctx, instance), kind);
  });

  router.post(`${prefix}/:kind`, guard, async (ctx) => {
    const c = consoleState(ctx);
    const kind = kindOf(ctx);
    if (!kind) return;
    const level = levelOf(ctx, instance);
    await policyForEditing(c.svc, level.orgId, kind);
    // A form the page does not offer (the domain policy to an org manager) is not there.
    if (!mayWrite(ctx, level, kind).write) return notFoundPage(ctx);
    const seen = parseForm(ctx, versionForm);
    const shownVersion = seen.ok ? seen.data.version : undefined;
    const form = parsePolicyForm(kind, formBody(ctx), c.t);
    if (!form.ok) return editor(ctx, level, kind, { values: form.values, errors: form.errors, version: shownVersion }, 400);
    try {
      await atPolicyVersion(c.svc, level.orgId, kind, shownVersion, (svc) =>
        level.orgId ? setOrgPolicy(svc, level.orgId, kind, form.settings) : setInstancePolicy(svc, kind, form.settings),
      );
    } catch (err) {
      const stale = err instanceof DomainError && err.code === 'precondition_failed';
      return editor(ctx, level, kind, { values: form.settings, errors: refusal(ctx, err), version: shownVersion }, stale ? 409 : 400);
    }
    await flash(ctx, 'ok', c.t('policies.saved'));
    ctx.redirect(`${level.base}/${kind}`);
  });

  if (!instance) {
    router.post(`${prefix}/:kind/reset`, guard, async (ctx) => {
      const c = consoleState(ctx);
      const kind = kindOf(ctx);
      if (!kind) return;
      const level = levelOf(ctx, instance);
      await policyForEditing(c.svc, level.orgId, kind);
      if (!mayWrite(ctx, level, kind).reset) return notFoundPage(ctx);
      const seen = parseForm(ctx, versionForm);
      await buttonAction(
        ctx,
        () => atPolicyVersion(c.svc, level.orgId, kind, seen.ok ? seen.data.version : undefined, (svc) => resetOrgPolicy(svc, level.orgId!, kind)),
        c.t('policies.wasReset'),
        `${level.base}/${kind}`,
      );
    });
  }
}

export const policiesArea: ConsoleArea = {
  nav: { key: 'policies', labelKey: 'nav.policies', order: 70, permission: 'policy.read', path: paths.policies },
  routes(router) {
    policyRoutes(router, false);
  },
};
