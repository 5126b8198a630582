import type Router from '@koa/router';
import type { Context } from 'koa';
import { z } from 'zod';
import { listPasskeys } from '../domain/passkey/queries.js';
import { finishPasskeyRegistration, removePasskey, renamePasskey, startPasskeyRegistration } from '../domain/passkey/service.js';
import { isReauthenticationRequired } from '../domain/recent-sign-in.js';
import { DomainError } from '../shared/errors.js';
import { accountState, flash, paths } from './context.js';
import { renderAccount } from './render.js';

/**
 * Passkeys: the user's own, with "Add a passkey" (the registration ceremony runs in the browser
 * with the static passkey scripts; its challenge is bound to this account session), rename and
 * remove. The relying party is the instance domain the browser is on.
 */
const addForm = z.object({ challengeId: z.string().max(40), response: z.string().min(1).max(20_000), name: z.string().max(200).optional() });
const renameForm = z.object({ name: z.string().trim().min(1).max(100) });
const passkeyId = (ctx: Context) => String((ctx as unknown as { params: { id: string } }).params.id);

export function passkeyPages(router: Router): void {
  router.get('/passkeys', async (ctx) => {
    const a = accountState(ctx);
    const passkeys = await listPasskeys(a.svc, a.userId);
    // Adding a passkey needs a recent sign-in: after an old one the page offers to sign in again instead.
    const ceremony = await startPasskeyRegistration(a.svc, a.userId, {
      rp: { rpId: ctx.hostname, origin: ctx.state.origin, name: a.branding.name || 'Tessera' },
      binding: a.session.key,
    }).catch((err: unknown) => {
      if (isReauthenticationRequired(err)) return undefined;
      throw err;
    });
    const reauth = `${paths.home}/sign-in?${new URLSearchParams({ reauth: '1', hint: a.me.loginName, return: paths.passkeys }).toString()}`;
    await renderAccount(
      ctx,
      'passkeys',
      {
        passkeys,
        here: ctx.hostname,
        locale: a.locale,
        reauth,
        form: ceremony && { action: paths.passkeys, mode: 'register', challengeId: ceremony.challengeId, options: JSON.stringify(ceremony.options) },
      },
      { titleKey: 'passkeys.title', navKey: 'passkeys' },
    );
  });

  router.post('/passkeys', async (ctx) => {
    const a = accountState(ctx);
    const parsed = addForm.safeParse((ctx.request as { body?: unknown }).body ?? {});
    try {
      if (!parsed.success) throw new DomainError('invalid_input', 'bad form');
      let response: unknown;
      try {
        response = JSON.parse(parsed.data.response);
      } catch {
        response = undefined;
      }
      const added = await finishPasskeyRegistration(a.svc, a.userId, {
        challengeId: parsed.data.challengeId,
        binding: a.session.key,
        response,
        name: parsed.data.name,
      });
      await flash(ctx, 'ok', a.t('passkeys.added', { name: added.name }));
    } catch (err) {
      if (!(err instanceof DomainError) || isReauthenticationRequired(err)) throw err;
      await flash(ctx, 'error', a.t('passkeys.notAdded'));
    }
    ctx.redirect(paths.passkeys);
  });

  router.post('/passkeys/:id/rename', async (ctx) => {
    const a = accountState(ctx);
    const parsed = renameForm.safeParse((ctx.request as { body?: unknown }).body ?? {});
    if (!parsed.success) {
      await flash(ctx, 'error', a.t('passkeys.nameRequired'));
    } else {
      await renamePasskey(a.svc, a.userId, passkeyId(ctx), parsed.data.name);
      await flash(ctx, 'ok', a.t('passkeys.renamed'));
    }
    ctx.redirect(paths.passkeys);
  });

  router.post('/passkeys/:id/remove', async (ctx) => {
    const a = accountState(ctx);
    await removePasskey(a.svc, a.userId, passkeyId(ctx));
    await flash(ctx, 'ok', a.t('passkeys.removed'));
    ctx.redirect(paths.passkeys);
  });
}
