import type { Context } from 'koa';
import { z } from 'zod';
import { orgWithDomains } from '../../domain/org/queries.js';
import { addOrgDomain, deactivateOrg, reactivateOrg, removeOrgDomain, renameOrg, setPrimaryOrgDomain, verifyOrgDomain } from '../../domain/org/service.js';
import { atVersion } from '../../domain/versions.js';
import { DomainError } from '../../shared/errors.js';
import { consoleState, flash, paths } from '../context.js';
import { errorMessage, parseForm, refusal, required, version, type FieldErrors } from '../forms.js';
import type { ConsoleArea } from '../index.js';
import { renderConsole } from '../render.js';
import { inOrg } from './home.js';

/**
 * The Org area: the org's name, its domains (add, the TXT record to publish, verify, make
 * primary, remove) and its state. Everything is the org domain's services; writes need
 * org.write, and are not offered without it.
 */
const nameForm = z.object({ name: required(), version });
const domainForm = z.object({ domain: required(253) });
const stateForm = z.object({ version });

type FormState = { form?: string; values?: Record<string, unknown>; errors?: FieldErrors };

async function settingsPage(ctx: Context, state: FormState = {}, status = 200): Promise<void> {
  const c = consoleState(ctx);
  const { org, domains } = await orgWithDomains(c.svc, c.org!.id);
  await renderConsole(
    ctx,
    'org-settings',
    {
      current: org,
      domains,
      canWrite: c.perms.can('org.write', { orgId: org.id }),
      form: state.form,
      values: state.values ?? {},
      errors: state.errors ?? {},
    },
    { titleKey: 'org.title', titleVars: { name: org.name }, navKey: 'org', status },
  );
}

/** Runs a one-button action on the org; a refusal comes back as a message on the settings page. */
async function action(ctx: Context, run: () => Promise<unknown>, okKey: string, vars: Record<string, string> = {}): Promise<void> {
  const c = consoleState(ctx);
  try {
    await run();
    await flash(ctx, 'ok', c.t(okKey, vars));
  } catch (err) {
    if (!(err instanceof DomainError) || err.code === 'not_found' || err.code === 'permission_denied') throw err;
    await flash(ctx, 'error', errorMessage(ctx, err));
  }
  ctx.redirect(paths.orgSettings(c.org!.id));
}

export const orgArea: ConsoleArea = {
  nav: { key: 'org', labelKey: 'nav.org', order: 10, permission: 'org.read', path: paths.orgSettings },
  routes(router) {
    const base = '/orgs/:orgId/settings';
    router.get(base, inOrg, (ctx) => settingsPage(ctx));

    router.post(`${base}/name`, inOrg, async (ctx) => {
      const c = consoleState(ctx);
      const form = parseForm(ctx, nameForm);
      if (!form.ok) return settingsPage(ctx, { form: 'name', ...form }, 400);
      try {
        await atVersion(c.svc, 'org', c.org!.id, form.data.version, (svc) => renameOrg(svc, c.org!.id, form.data.name));
      } catch (err) {
        return settingsPage(ctx, { form: 'name', values: form.data, errors: refusal(ctx, err, { 'org.name_taken': 'name', invalid_input: 'name' }) }, 409);
      }
      await flash(ctx, 'ok', c.t('org.renamed'));
      ctx.redirect(paths.orgSettings(c.org!.id));
    });

    router.post(`${base}/domains`, inOrg, async (ctx) => {
      const c = consoleState(ctx);
      const form = parseForm(ctx, domainForm);
      if (!form.ok) return settingsPage(ctx, { form: 'domain', ...form }, 400);
      try {
        await addOrgDomain(c.svc, c.org!.id, form.data.domain);
      } catch (err) {
        return settingsPage(
          ctx,
          {
            form: 'domain',
            values: form.data,
            errors: refusal(ctx, err, { 'org_domain.taken': 'domain', 'org_domain.exists': 'domain', invalid_input: 'domain', 'org_domain.invalid': 'domain' }),
          },
          400,
        );
      }
      await flash(ctx, 'ok', c.t('org.domainAdded', { domain: form.data.domain }));
      ctx.redirect(paths.orgSettings(c.org!.id));
    });

    const domainActions = {
      verify: [verifyOrgDomain, 'org.domainVerified'],
      primary: [setPrimaryOrgDomain, 'org.domainPrimary'],
      remove: [removeOrgDomain, 'org.domainRemoved'],
    } as const;
    for (const [name, [fn, okKey]] of Object.entries(domainActions)) {
      router.post(`${base}/domains/${name}`, inOrg, async (ctx) => {
        const c = consoleState(ctx);
        const form = parseForm(ctx, domainForm);
        if (!form.ok) {
          ctx.redirect(paths.orgSettings(c.org!.id));
          return;
        }
        await action(ctx, () => fn(c.svc, c.org!.id, form.data.domain), okKey, { domain: form.data.domain });
      });
    }

    for (const [name, fn] of [
      ['deactivate', deactivateOrg],
      ['reactivate', reactivateOrg],
    ] as const) {
      router.post(`${base}/${name}`, inOrg, async (ctx) => {
        const c = consoleState(ctx);
        const form = parseForm(ctx, stateForm);
        const orgId = c.org!.id;
        await action(ctx, () => atVersion(c.svc, 'org', orgId, form.ok ? form.data.version : undefined, (svc) => fn(svc, orgId)), `org.${name}d`);
      });
    }
  },
};
