import type Router from '@koa/router';
import type { Context } from 'koa';
import { z } from 'zod';
import { instanceSettings } from '../../domain/instance/queries.js';
import { addInstanceDomain, removeInstanceDomain, setPrimaryInstanceDomain } from '../../domain/instance/service.js';
import { DomainError, notFound } from '../../shared/errors.js';
import { consoleState, flash, paths } from '../context.js';
import { buttonAction, checkbox, parseForm, refusal, required, type FieldErrors } from '../forms.js';
import { renderConsole } from '../render.js';
import { atInstance } from './instance-guard.js';

/**
 * The instance's domains (IAM_* managers; changes need iam.domain.write, IAM_OWNER's): the hosts
 * the instance answers on, add one, make one primary, remove one after a confirmation page.
 * The very services the System API calls, so one permission check serves both, and each change
 * publishes the change notice that clears every process's host → instance cache. The host this
 * page is served on is marked and cannot be removed from here.
 */
const addForm = z.object({ domain: required(253), primary: checkbox });
const domainForm = z.object({ domain: required(253) });
type State = { values?: Record<string, unknown>; errors?: FieldErrors };

/** The host of this request: the domain the admin is using right now. */
const currentHost = (ctx: Context) => new URL(ctx.state.origin).hostname;

async function domainsPage(ctx: Context, state: State = {}, status = 200): Promise<void> {
  const c = consoleState(ctx);
  const { domains } = await instanceSettings(c.svc);
  await renderConsole(
    ctx,
    'instance-domains',
    { domains, current: currentHost(ctx), canWrite: c.perms.can('iam.domain.write', {}), values: state.values ?? {}, errors: state.errors ?? {} },
    { titleKey: 'instanceDomains.title', navKey: 'instance', status },
  );
}

/** The domain named by the path, as the instance has it; another is the 404 page. */
async function ownDomain(ctx: Context) {
  const { domains } = await instanceSettings(consoleState(ctx).svc);
  const d = domains.find((x) => x.domain === String(ctx.params.domain).toLowerCase());
  if (!d) throw notFound('instance domain', String(ctx.params.domain));
  return d;
}

export function instanceDomainRoutes(router: Router): void {
  const base = '/instance/domains';
  const guard = atInstance('iam.read');
  router.get(base, guard, (ctx) => domainsPage(ctx));

  router.post(base, guard, async (ctx) => {
    const c = consoleState(ctx);
    const form = parseForm(ctx, addForm);
    if (!form.ok) return domainsPage(ctx, form, 400);
    try {
      await addInstanceDomain(c.svc, form.data.domain, { primary: form.data.primary });
    } catch (err) {
      // The service's own words for a malformed name are English; the page says it in the visitor's language.
      const errors =
        err instanceof DomainError && err.code === 'invalid_input'
          ? { domain: c.t('instanceDomains.invalid') }
          : refusal(ctx, err, { 'instance_domain.taken': 'domain', 'instance_domain.exists': 'domain' });
      return domainsPage(ctx, { values: form.values, errors }, 400);
    }
    await flash(
      ctx,
      'ok',
      c.t(form.data.primary ? 'instanceDomains.addedPrimary' : 'instanceDomains.added', { domain: form.data.domain.trim().toLowerCase() }),
    );
    ctx.redirect(paths.instanceDomains);
  });

  router.post(`${base}/primary`, guard, async (ctx) => {
    const c = consoleState(ctx);
    const form = parseForm(ctx, domainForm);
    if (!form.ok) return domainsPage(ctx, {}, 400);
    const domain = form.data.domain;
    await buttonAction(ctx, () => setPrimaryInstanceDomain(c.svc, domain), c.t('instanceDomains.primarySet', { domain }), paths.instanceDomains);
  });

  router.get(`${base}/:domain/remove`, guard, async (ctx) => {
    const c = consoleState(ctx);
    if (!c.perms.can('iam.domain.write', {})) throw notFound('instance domain', String(ctx.params.domain));
    const domain = await ownDomain(ctx);
    await renderConsole(
      ctx,
      'instance-domain-remove',
      { domain, current: currentHost(ctx) },
      { titleKey: 'instanceDomains.removeTitle', titleVars: { domain: domain.domain }, navKey: 'instance' },
    );
  });

  router.post(`${base}/:domain/remove`, guard, async (ctx) => {
    const c = consoleState(ctx);
    const domain = (await ownDomain(ctx)).domain;
    await buttonAction(
      ctx,
      () => removeInstanceDomain(c.svc, domain, { servedAt: currentHost(ctx) }),
      c.t('instanceDomains.removed', { domain }),
      paths.instanceDomains,
    );
  });
}
