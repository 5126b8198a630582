import type Router from '@koa/router';
import { z } from 'zod';
import { linkableIdps, ownIdpLinks } from '../domain/idp/own-links.js';
import { unlinkUser } from '../domain/idp/service.js';
import { DomainError } from '../shared/errors.js';
import { accountState, flash, paths } from './context.js';
import { renderAccount } from './render.js';

/**
 * External identities linked to the account (an upstream IdP's account that signs in as this
 * user): listed, and unlinked as long as another way to sign in remains (unlinkUser's rule).
 * The IdPs the user can still link are offered with a Link button (identity-link.ts).
 */
const unlinkForm = z.object({ idpId: z.string().min(1).max(100), externalUserId: z.string().min(1).max(500) });

export function identityPages(router: Router): void {
  router.get('/identities', async (ctx) => {
    const a = accountState(ctx);
    const [links, linkable] = await Promise.all([ownIdpLinks(a.svc), linkableIdps(a.svc)]);
    await renderAccount(ctx, 'identities', { links, linkable, locale: a.locale }, { titleKey: 'identities.title', navKey: 'identities' });
  });

  router.post('/identities/unlink', async (ctx) => {
    const a = accountState(ctx);
    const parsed = unlinkForm.safeParse((ctx.request as { body?: unknown }).body ?? {});
    if (!parsed.success) {
      ctx.status = 404;
      return;
    }
    // Only the user's own links: anyone else's answers like one that does not exist.
    if (!(await ownIdpLinks(a.svc)).some((l) => l.idpId === parsed.data.idpId && l.externalUserId === parsed.data.externalUserId)) {
      ctx.status = 404;
      return;
    }
    try {
      await unlinkUser(a.svc, parsed.data);
      await flash(ctx, 'ok', a.t('identities.unlinked'));
    } catch (err) {
      if (!(err instanceof DomainError && err.reason === 'user.last_sign_in_method')) throw err;
      await flash(ctx, 'error', a.t('identities.lastWayIn'));
    }
    ctx.redirect(paths.identities);
  });
}
