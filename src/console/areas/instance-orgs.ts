import type Router from '@koa/router';
import { z } from 'zod';
import { orgDeletionImpact, orgInReach, orgsInReach } from '../../domain/org/queries.js';
import { createOrg, deactivateOrg, deleteOrg, reactivateOrg } from '../../domain/org/service.js';
import { atVersion } from '../../domain/versions.js';
import { consoleState, flash, paths } from '../context.js';
import { buttonAction, listParams, pager, parseForm, refusal, required, sortLink, version, type FieldErrors } from '../forms.js';
import { renderConsole } from '../render.js';
import { atInstance } from './instance-guard.js';
import type { Context } from 'koa';

/**
 * Every org of the instance, for instance administrators: create, deactivate and reactivate,
 * and delete after a confirmation that counts what goes with the org (its users, projects,
 * grants received, authorizations, managers and IdPs). The org services decide (the default
 * org cannot go, nor the last instance owner).
 */
const createForm = z.object({ name: required() });
const versionForm = z.object({ version });

async function listPage(ctx: Context, state: { values?: Record<string, unknown>; errors?: FieldErrors } = {}, status = 200): Promise<void> {
  const c = consoleState(ctx);
  const p = listParams(ctx, ['name', 'createdAt', 'state'], 'name');
  const q = typeof ctx.query.q === 'string' ? ctx.query.q.slice(0, 200) : '';
  const page = await orgsInReach(c.svc, { nameContains: q || undefined }, p);
  await renderConsole(
    ctx,
    'instance-orgs',
    {
      orgs: page.rows,
      q,
      pager: pager(ctx, page.total, p),
      sort: (f: string) => sortLink(ctx, f, p),
      can: { create: c.perms.can('org.create', {}), write: c.perms.can('org.write', {}), delete: c.perms.can('org.delete', {}) },
      values: state.values ?? {},
      errors: state.errors ?? {},
    },
    { titleKey: 'instanceOrgs.title', navKey: 'instance', status },
  );
}

export function instanceOrgRoutes(router: Router): void {
  const base = '/instance/orgs';
  const guard = atInstance('org.global.read');
  router.get(base, guard, (ctx) => listPage(ctx));

  router.post(base, guard, async (ctx) => {
    const c = consoleState(ctx);
    const form = parseForm(ctx, createForm);
    if (!form.ok) return listPage(ctx, form, 400);
    try {
      await createOrg(c.svc, { name: form.data.name });
    } catch (err) {
      return listPage(ctx, { values: form.values, errors: refusal(ctx, err, { 'org.name_taken': 'name', invalid_input: 'name' }) }, 400);
    }
    await flash(ctx, 'ok', c.t('orgs.created', { name: form.data.name }));
    ctx.redirect(paths.instanceOrgs);
  });

  for (const [name, fn] of [
    ['deactivate', deactivateOrg],
    ['reactivate', reactivateOrg],
  ] as const) {
    router.post(`${base}/:orgId/${name}`, guard, async (ctx) => {
      const c = consoleState(ctx);
      const org = await orgInReach(c.svc, ctx.params.orgId);
      const form = parseForm(ctx, versionForm);
      await buttonAction(
        ctx,
        () => atVersion(c.svc, 'org', org.id, form.ok ? form.data.version : undefined, (svc) => fn(svc, org.id)),
        c.t(`instanceOrgs.${name}d`, { name: org.name }),
        paths.instanceOrgs,
      );
    });
  }

  router.get(`${base}/:orgId/delete`, guard, async (ctx) => {
    const c = consoleState(ctx);
    const impact = await orgDeletionImpact(c.svc, ctx.params.orgId);
    await renderConsole(
      ctx,
      'instance-org-delete',
      { impact },
      { titleKey: 'instanceOrgs.deleteTitle', titleVars: { name: impact.org.name }, navKey: 'instance' },
    );
  });

  router.post(`${base}/:orgId/delete`, guard, async (ctx) => {
    const c = consoleState(ctx);
    const { org } = await orgDeletionImpact(c.svc, ctx.params.orgId);
    const form = parseForm(ctx, versionForm);
    await buttonAction(
      ctx,
      () => atVersion(c.svc, 'org', org.id, form.ok ? form.data.version : undefined, (svc) => deleteOrg(svc, org.id)),
      c.t('instanceOrgs.deleted', { name: org.name }),
      paths.instanceOrgs,
    );
  });
}
