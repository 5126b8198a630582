import type Router from '@koa/router';
import type { Context, Middleware } from 'koa';
import { z } from 'zod';
import { idpOwnedBy, idpsOwnedBy, testIdpDiscovery, type DiscoveryResult } from '../../domain/idp/queries.js';
import { createIdp, deleteIdp, updateIdp } from '../../domain/idp/service.js';
import { atVersion } from '../../domain/versions.js';
import { DomainError } from '../../shared/errors.js';
import { consoleState, flash, paths } from '../context.js';
import { buttonAction, checkbox, optional, parseForm, refusal, required, text, version, type FieldErrors } from '../forms.js';
import type { ConsoleArea } from '../index.js';
import { renderConsole } from '../render.js';
import { inOrg } from './home.js';
import { atInstance } from './instance-guard.js';

/**
 * Identity providers: an org's own generic OIDC IdPs (and, at /instance/idps, the instance's),
 * added, changed and removed through the IdP service the APIs use. The client secret is
 * write-only (left empty on an edit, it stays). "Test" fetches the IdP's discovery document and
 * says what it found or what failed. An IdP becomes a button on the login page once the login
 * policy offers it.
 */
const scopesField = text(2000)
  .transform((v) => v.split(/[\s,]+/).filter(Boolean))
  .pipe(z.array(z.string().max(200)).max(30, 'form.tooMany'));
const fields = {
  name: required(),
  issuer: required(500).pipe(z.url({ protocol: /^https?$/, error: 'form.url' })),
  clientId: required(500),
  scopes: scopesField,
  isCreationAllowed: checkbox,
  isAutoCreation: checkbox,
  isLinkingAllowed: checkbox,
  isAutoUpdate: checkbox,
  autoLinking: z.enum(['none', 'email', 'username'], 'form.invalid'),
};
const newForm = z.object({ ...fields, clientSecret: text(2000) });
const editForm = z.object({ ...fields, clientSecret: optional(2000), version });
const versionForm = z.object({ version });

interface Level {
  orgId: string | null;
  base: string;
  navKey: string;
}

function levelOf(ctx: Context, instance: boolean): Level {
  if (instance) return { orgId: null, base: paths.instanceIdps, navKey: 'instance' };
  const orgId = consoleState(ctx).org!.id;
  return { orgId, base: paths.idps(orgId), navKey: 'idps' };
}

function mayWrite(ctx: Context, level: Level): boolean {
  const { perms } = consoleState(ctx);
  return level.orgId ? perms.can('org.idp.write', { orgId: level.orgId }) : perms.can('iam.idp.write', {});
}

const refusals = { invalid_input: 'issuer', 'idp.id_taken': '_form' };

async function listPage(ctx: Context, level: Level): Promise<void> {
  const c = consoleState(ctx);
  const idps = await idpsOwnedBy(c.svc, level.orgId);
  await renderConsole(ctx, 'idps', { idps, level, canWrite: mayWrite(ctx, level) }, { titleKey: 'idps.title', navKey: level.navKey });
}

type FormState = { values?: Record<string, unknown>; errors?: FieldErrors; test?: DiscoveryResult };

async function newPage(ctx: Context, level: Level, state: FormState = {}, status = 200): Promise<void> {
  if (!mayWrite(ctx, level)) throw new DomainError('not_found', 'not offered', 'idp.not_found');
  const defaults = { scopes: 'openid profile email', isCreationAllowed: 'on', isLinkingAllowed: 'on', autoLinking: 'none' };
  await renderConsole(
    ctx,
    'idp',
    { level, idp: undefined, canWrite: true, values: state.values ?? defaults, errors: state.errors ?? {} },
    { titleKey: 'idps.newTitle', navKey: level.navKey, status },
  );
}

async function idpPage(ctx: Context, level: Level, state: FormState = {}, status = 200): Promise<void> {
  const c = consoleState(ctx);
  const idp = await idpOwnedBy(c.svc, level.orgId, ctx.params.idpId);
  await renderConsole(
    ctx,
    'idp',
    { level, idp, canWrite: mayWrite(ctx, level), values: state.values, errors: state.errors ?? {}, test: state.test },
    { titleKey: 'idps.editTitle', titleVars: { name: idp.name }, navKey: level.navKey, status },
  );
}

/** The form's values as a checkbox-aware record for the page (what was typed comes back as typed). */
const typed = (values: Record<string, unknown>) => ({ ...values, scopes: Array.isArray(values.scopes) ? values.scopes.join(' ') : values.scopes });

export function idpRoutes(router: Router, instance: boolean): void {
  const prefix = instance ? '/instance/idps' : '/orgs/:orgId/idps';
  const guard: Middleware = instance ? atInstance('iam.idp.read') : inOrg;

  router.get(prefix, guard, (ctx) => listPage(ctx, levelOf(ctx, instance)));
  router.get(`${prefix}/new`, guard, (ctx) => newPage(ctx, levelOf(ctx, instance)));

  router.post(prefix, guard, async (ctx) => {
    const c = consoleState(ctx);
    const level = levelOf(ctx, instance);
    const form = parseForm(ctx, newForm);
    if (!form.ok) return newPage(ctx, level, form, 400);
    let id: string;
    try {
      ({ id } = await createIdp(c.svc, { ...form.data, orgId: level.orgId }));
    } catch (err) {
      return newPage(ctx, level, { values: typed(form.values), errors: refusal(ctx, err, refusals) }, 400);
    }
    await flash(ctx, 'ok', c.t('idps.added', { name: form.data.name }));
    ctx.redirect(`${level.base}/${id}`);
  });

  router.get(`${prefix}/:idpId`, guard, (ctx) => idpPage(ctx, levelOf(ctx, instance)));

  router.post(`${prefix}/:idpId`, guard, async (ctx) => {
    const c = consoleState(ctx);
    const level = levelOf(ctx, instance);
    const idp = await idpOwnedBy(c.svc, level.orgId, ctx.params.idpId);
    const form = parseForm(ctx, editForm);
    if (!form.ok) return idpPage(ctx, level, form, 400);
    const { version: seen, clientSecret, ...patch } = form.data;
    try {
      await atVersion(c.svc, 'idp', idp.id, seen, (svc) => updateIdp(svc, idp.id, { ...patch, ...(clientSecret ? { clientSecret } : {}) }));
    } catch (err) {
      const stale = err instanceof DomainError && err.code === 'precondition_failed';
      return idpPage(ctx, level, { values: typed(form.values), errors: refusal(ctx, err, refusals) }, stale ? 409 : 400);
    }
    await flash(ctx, 'ok', c.t('idps.saved'));
    ctx.redirect(`${level.base}/${idp.id}`);
  });

  router.post(`${prefix}/:idpId/test`, guard, async (ctx) => {
    const c = consoleState(ctx);
    const level = levelOf(ctx, instance);
    const test = await testIdpDiscovery(c.svc, level.orgId, ctx.params.idpId);
    await idpPage(ctx, level, { test });
  });

  for (const state of ['active', 'inactive'] as const) {
    router.post(`${prefix}/:idpId/${state === 'active' ? 'activate' : 'deactivate'}`, guard, async (ctx) => {
      const c = consoleState(ctx);
      const level = levelOf(ctx, instance);
      const idp = await idpOwnedBy(c.svc, level.orgId, ctx.params.idpId);
      const form = parseForm(ctx, versionForm);
      await buttonAction(
        ctx,
        () => atVersion(c.svc, 'idp', idp.id, form.ok ? form.data.version : undefined, (svc) => updateIdp(svc, idp.id, { state })),
        c.t(state === 'active' ? 'idps.activated' : 'idps.deactivated'),
        `${level.base}/${idp.id}`,
      );
    });
  }

  router.get(`${prefix}/:idpId/remove`, guard, async (ctx) => {
    const c = consoleState(ctx);
    const level = levelOf(ctx, instance);
    const idp = await idpOwnedBy(c.svc, level.orgId, ctx.params.idpId);
    if (!mayWrite(ctx, level)) throw new DomainError('not_found', 'not offered', 'idp.not_found');
    await renderConsole(ctx, 'idp-remove', { level, idp }, { titleKey: 'idps.removeTitle', titleVars: { name: idp.name }, navKey: level.navKey });
  });

  router.post(`${prefix}/:idpId/remove`, guard, async (ctx) => {
    const c = consoleState(ctx);
    const level = levelOf(ctx, instance);
    const idp = await idpOwnedBy(c.svc, level.orgId, ctx.params.idpId);
    const form = parseForm(ctx, versionForm);
    await buttonAction(
      ctx,
      () => atVersion(c.svc, 'idp', idp.id, form.ok ? form.data.version : undefined, (svc) => deleteIdp(svc, idp.id)),
      c.t('idps.removed', { name: idp.name }),
      level.base,
    );
  });
}

export const idpsArea: ConsoleArea = {
  nav: { key: 'idps', labelKey: 'nav.idps', order: 75, permission: 'org.idp.read', path: paths.idps },
  routes(router) {
    idpRoutes(router, false);
  },
};
