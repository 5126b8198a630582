import type { Context } from 'koa';
import { z } from 'zod';
import { orgTrail, trailActor, type TrailFilter } from '../../domain/audit/queries.js';
import { consoleState, paths } from '../context.js';
import type { FieldErrors } from '../forms.js';
import type { ConsoleArea } from '../index.js';
import { renderConsole } from '../render.js';
import { inOrg } from './home.js';

/**
 * The org's audit trail, newest first: filtered by resource (type and id), actor (named as
 * elsewhere: a username of the org or an exact login name), event type (or its start) and time
 * (UTC), paged in the database by a cursor (the last event of the page), so a page costs the
 * same however deep it is. A GET form: filters are links that can be shared.
 */
export const resourceTypes = ['org', 'user', 'project', 'application', 'project_grant', 'user_grant', 'membership', 'policy', 'idp', 'label_asset'] as const;
const PAGE = 50;

const time = z
  .string()
  .trim()
  .max(20)
  .optional()
  .transform((v) => v ?? '')
  .refine(
    (v) => v === '' || (/^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2})?$/.test(v) && !Number.isNaN(Date.parse(`${v.length === 10 ? `${v}T00:00` : v}:00Z`))),
    'form.dateTime',
  );
const filterForm = z.object({
  resourceType: z
    .enum(['', ...resourceTypes])
    .optional()
    .catch(''),
  resourceId: z.string().trim().max(100, 'form.tooLong').optional(),
  actor: z.string().trim().max(320, 'form.tooLong').optional(),
  type: z.string().trim().max(100, 'form.tooLong').optional(),
  from: time,
  to: time,
  before: z.coerce.number().int().min(1).optional().catch(undefined),
});

const at = (v: string) => (v ? new Date(`${v.length === 10 ? `${v}T00:00` : v}:00Z`) : undefined);

async function trailPage(ctx: Context): Promise<void> {
  const c = consoleState(ctx);
  const orgId = c.org!.id;
  const raw = Object.fromEntries(Object.entries(ctx.query).map(([k, v]) => [k, Array.isArray(v) ? v[0] : v]));
  const parsed = filterForm.safeParse(raw);
  const errors: FieldErrors = {};
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const field = String(issue.path[0]);
      errors[field] ??= c.t(issue.message.startsWith('form.') ? issue.message : 'form.invalid');
    }
  }
  const f = parsed.success ? parsed.data : { before: undefined, from: '', to: '' };
  const filter: TrailFilter = {
    resourceType: f.resourceType || undefined,
    resourceId: f.resourceId || undefined,
    typePrefix: f.type || undefined,
    from: at(f.from),
    to: at(f.to),
  };
  if (f.actor) {
    const actor = await trailActor(c.svc, orgId, f.actor);
    if (actor) filter.actorId = actor.id;
    else errors.actor = c.t('audit.actorUnknown');
  }
  const ok = Object.keys(errors).length === 0;
  const page = ok ? await orgTrail(c.svc, orgId, filter, { beforeSeq: f.before, limit: PAGE }) : { rows: [], nextBeforeSeq: null };
  const link = (before?: number) => {
    const q = new URLSearchParams(ctx.querystring);
    q.delete('before');
    if (before) q.set('before', String(before));
    return `${ctx.path}?${q.toString()}`;
  };
  await renderConsole(
    ctx,
    'audit',
    {
      events: page.rows,
      values: raw,
      errors,
      resourceTypes,
      older: page.nextBeforeSeq ? link(page.nextBeforeSeq) : undefined,
      newest: f.before ? link() : undefined,
    },
    { titleKey: 'audit.title', navKey: 'audit', status: ok ? 200 : 400 },
  );
}

export const auditArea: ConsoleArea = {
  nav: { key: 'audit', labelKey: 'nav.audit', order: 60, permission: 'org.read', path: paths.audit },
  routes(router) {
    router.get('/orgs/:orgId/audit', inOrg, trailPage);
  },
};
