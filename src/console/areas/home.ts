import type { Context, Next } from 'koa';
import { z } from 'zod';
import { orgInReach, orgsInReach } from '../../domain/org/queries.js';
import { createOrg } from '../../domain/org/service.js';
import { consoleState, flash, paths } from '../context.js';
import { listParams, pager, parseForm, refusal, required, sortLink } from '../forms.js';
import type { ConsoleArea } from '../index.js';
import { navAllows } from '../nav.js';
import { renderConsole } from '../render.js';

/**
 * The console's start: /ui/console goes to the org in context (the last one chosen, else the
 * user's own, else the first in reach); /orgs lists the orgs the caller's memberships reach, with
 * "create" for those holding org.create; /switch changes the org in context; /orgs/:orgId is the
 * org's overview. Every /orgs/:orgId/… page first checks the org is in reach (else 404).
 */
const createForm = z.object({ name: required() });

/** Loads the org of /orgs/:orgId/… pages into ctx.state.console.org; an org out of reach is a 404. */
export async function inOrg(ctx: Context, next: Next): Promise<void> {
  const c = consoleState(ctx);
  const orgId = (ctx as unknown as { params: { orgId: string } }).params.orgId;
  c.org = await orgInReach(c.svc, orgId);
  if (c.session.data.orgId !== orgId) await c.setData({ orgId });
  await next();
}

export const homeArea: ConsoleArea = {
  nav: { key: 'overview', labelKey: 'nav.overview', order: 0, permission: '', path: paths.org },
  routes(router) {
    router.get('/', async (ctx) => {
      const c = consoleState(ctx);
      const remembered = c.session.data.orgId as string | undefined;
      const target = [remembered, c.session.actor.orgId].find((id) => id && c.orgChoices.some((o) => o.id === id)) ?? c.orgChoices[0]?.id;
      if (target) {
        ctx.redirect(paths.org(target));
        return;
      }
      await renderConsole(ctx, 'nothing', {}, { titleKey: 'nothing.title' });
    });

    router.get('/switch', async (ctx) => {
      const orgId = String(ctx.query.org ?? '');
      ctx.redirect(/^\d{1,30}$/.test(orgId) ? paths.org(orgId) : paths.orgs);
    });

    const listOrgs = async (ctx: Context, form: { values?: Record<string, unknown>; errors?: Record<string, string> } = {}, status = 200) => {
      const c = consoleState(ctx);
      // The org last worked in stays in context here, so its navigation stays too.
      const remembered = c.orgChoices.find((o) => o.id === c.session.data.orgId);
      if (remembered) c.org = await orgInReach(c.svc, remembered.id);
      const p = listParams(ctx, ['name', 'createdAt', 'state'], 'name');
      const q = typeof ctx.query.q === 'string' ? ctx.query.q.slice(0, 200) : '';
      const page = await orgsInReach(c.svc, { nameContains: q || undefined }, p);
      await renderConsole(
        ctx,
        'orgs',
        {
          orgs: page.rows,
          q,
          pager: pager(ctx, page.total, p),
          sort: (f: string) => sortLink(ctx, f, p),
          canCreate: c.perms.can('org.create', {}),
          ...form,
        },
        { titleKey: 'orgs.title', navKey: 'orgs', status },
      );
    };

    router.get('/orgs', (ctx) => listOrgs(ctx));

    router.post('/orgs', async (ctx) => {
      const c = consoleState(ctx);
      const form = parseForm(ctx, createForm);
      if (!form.ok) return listOrgs(ctx, form, 400);
      try {
        const { id } = await createOrg(c.svc, form.data);
        await flash(ctx, 'ok', c.t('orgs.created', { name: form.data.name }));
        ctx.redirect(paths.org(id));
      } catch (err) {
        await listOrgs(ctx, { values: form.data, errors: refusal(ctx, err, { 'org.name_taken': 'name', invalid_input: 'name' }) }, 400);
      }
    });

    router.get('/orgs/:orgId', inOrg, async (ctx) => {
      const c = consoleState(ctx);
      const links = c.navEntries
        .filter((e) => e.permission && navAllows(c, e, c.org!.id))
        .sort((a, b) => a.order - b.order)
        .map((e) => ({ label: c.t(e.labelKey), href: e.path(c.org!.id), help: c.t(`${e.labelKey}.help`) }));
      await renderConsole(ctx, 'org-home', { links }, { titleKey: 'orgHome.title', titleVars: { name: c.org!.name }, navKey: 'overview' });
    });
  },
};
