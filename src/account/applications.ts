import type Router from '@koa/router';
import type { Context } from 'koa';
import { listAppConsents } from '../domain/consent/queries.js';
import { revokeAppConsent } from '../domain/consent/service.js';
import { isBuiltInClient } from '../oidc/builtin-clients.js';
import { revokeGrants } from '../oidc/grant-revocation.js';
import type { ProviderPool } from '../oidc/pool.js';
import { accountState, flash, paths } from './context.js';
import { renderAccount } from './render.js';

/**
 * The applications the user signed in to and allowed access, and revoking one: its grants and
 * tokens go, and it asks again next time. Tessera's own apps (console, account page) are not
 * listed: signing out of them is how to leave them.
 */
const clientIdOf = (ctx: Context) => String((ctx as unknown as { params: { clientId: string } }).params.clientId);

export function applicationPages(router: Router, pool: ProviderPool): void {
  router.get('/applications', async (ctx) => {
    const a = accountState(ctx);
    const apps = (await listAppConsents(a.svc, a.userId)).filter((c) => !isBuiltInClient(c.clientId));
    await renderAccount(ctx, 'applications', { apps, locale: a.locale }, { titleKey: 'applications.title', navKey: 'applications' });
  });

  router.post('/applications/:clientId/revoke', async (ctx) => {
    const a = accountState(ctx);
    const clientId = clientIdOf(ctx);
    if (isBuiltInClient(clientId)) {
      ctx.status = 404;
      return;
    }
    const { grantIds } = await revokeAppConsent(a.svc, a.userId, clientId);
    await revokeGrants(await pool.get(ctx.state.instanceId, ctx.state.origin), grantIds);
    await flash(ctx, 'ok', a.t('applications.revoked'));
    ctx.redirect(paths.applications);
  });
}
