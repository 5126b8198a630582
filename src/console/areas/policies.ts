import type Router from '@koa/router';
import type { Context, Middleware } from 'koa';
import { z } from 'zod';
import { atPolicyVersion, idpsOfferable, policyForEditing } from '../../domain/policy/queries.js';
import type { PolicySettings } from '../../domain/policy/schemas.js';
import { resetOrgPolicy, setInstancePolicy, setOrgPolicy } from '../../domain/policy/service.js';
import { offeredIdps } from '../../domain/sign-in.js';
import { loadBranding } from '../../ui/branding.js';
import { translator } from '../../ui/i18n.js';
import { brandedFrame, sendPage } from '../../ui/render.js';
import { DomainError } from '../../shared/errors.js';
import { consoleState, flash, paths } from '../context.js';
import { buttonAction, formBody, parseForm, refusal, version, type FieldErrors } from '../forms.js';
import type { ConsoleArea } from '../index.js';
import { renderConsole } from '../render.js';
import { inOrg } from './home.js';
import { atInstance } from './instance-guard.js';
import { editedKinds, parsePolicyForm, policyFields, type EditedKind } from './policy-fields.js';

/**
 * The Policies area: the login, password complexity, lockout, domain and notification policies
 * of an org (and, at /instance/policies, the instance defaults, with the same pages). Each form
 * shows every field of the policy with its help text; saving replaces the org's policy as a
 * whole (setOrgPolicy), only if nobody changed it since the form was shown; "reset" makes the
 * org follow the instance default again. The domain policy is an instance administrator's
 * setting (iam.policy.write), shown read-only to org managers. The login policy has a preview
 * of the login page as the org's users will see it, of the saved policy or of the form's values.
 */
export interface PolicyLevel {
  orgId: string | null;
  base: string;
  navKey: string;
}

const versionForm = z.object({ version });

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

type FormState = { values?: Record<string, unknown>; errors?: FieldErrors; version?: unknown };

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
  await renderConsole(
    ctx,
    'policy',
    {
      kind,
      level,
      policy,
      fields: policyFields(kind),
      idps,
      can: mayWrite(ctx, level, kind),
      values: state.values ?? policy.settings,
      errors: state.errors ?? {},
      shownVersion: state.version ?? policy.version,
    },
    { titleKey: `policies.${kind}.title`, navKey: level.navKey, status },
  );
}

/** The login name page as the org's users will see it, in the login's own layout and branding, inert. */
async function loginPreview(ctx: Context, level: PolicyLevel, policy: PolicySettings<'login'>): Promise<void> {
  const c = consoleState(ctx);
  const t = translator(c.locale);
  const branding = await loadBranding(c.svc.scope, level.orgId);
  const idps = policy.allowExternalIdp ? await offeredIdps(c.svc.scope, level.orgId, policy.idpIds) : [];
  const look = { org: { orgId: level.orgId, source: 'scope' }, policy, branding, locale: c.locale, t, idps };
  await sendPage(
    ctx,
    'console/login-preview',
    t('login.title'),
    { t, ct: c.t, look, uid: 'preview', csrf: '', loginName: '', error: '', passkey: undefined, back: `${level.base}/login` },
    200,
    brandedFrame(branding, c.locale, t),
  );
}

export function policyRoutes(router: Router, instance: boolean): void {
  const prefix = instance ? '/instance/policies' : '/orgs/:orgId/policies';
  const guard: Middleware = instance ? atInstance('iam.policy.read') : inOrg;
  const kindOf = (ctx: Context): EditedKind | undefined => (editedKinds as readonly string[]).find((k) => k === ctx.params.kind) as EditedKind | undefined;

  router.get(prefix, guard, (ctx) => overview(ctx, levelOf(ctx, instance)));

  router.get(`${prefix}/login/preview`, guard, async (ctx) => {
    const level = levelOf(ctx, instance);
    const policy = await policyForEditing(consoleState(ctx).svc, level.orgId, 'login');
    await loginPreview(ctx, level, policy.settings);
  });

  // The preview of the form's values, unsaved (the editor's "Preview" button).
  router.post(`${prefix}/login/preview`, guard, async (ctx) => {
    const c = consoleState(ctx);
    const level = levelOf(ctx, instance);
    await policyForEditing(c.svc, level.orgId, 'login');
    const form = parsePolicyForm('login', formBody(ctx), c.t);
    if (!form.ok) return editor(ctx, level, 'login', { values: form.values, errors: form.errors, version: formBody(ctx).version }, 400);
    await loginPreview(ctx, level, form.settings as PolicySettings<'login'>);
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
