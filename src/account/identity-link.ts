import type Router from '@koa/router';
import type { Context } from 'koa';
import { z } from 'zod';
import { LINK_TTL_S, linkableIdps, linkOwnIdentity } from '../domain/idp/own-links.js';
import { getIdpWithSecret } from '../domain/idp/service.js';
import { isReauthenticationRequired } from '../domain/recent-sign-in.js';
import { beginUpstreamAuthorization, finishUpstreamAuthorization, upstreamCallback, type UpstreamAuthorization } from '../domain/idp/upstream.js';
import type { ExternalProfile } from '../domain/user/external-profile.js';
import { constantTimeEqual } from '../shared/crypto.js';
import { DomainError } from '../shared/errors.js';
import { accountState, flash, paths } from './context.js';
import { renderAccount } from './render.js';
import { freshSignIn } from './security.js';

/**
 * Linking an account at an external IdP to the signed-in user ("Link" on Linked accounts). The
 * code flow is the login's (src/domain/idp/upstream.ts: PKCE, nonce, state), in a link mode: the
 * pending authorization lives in this browser's account session, its state starts with `link.`
 * so the instance's one callback URI (/ui/login/idp/callback) forwards the answer here, and the
 * answer links the upstream subject to the session's user; it never signs anyone in or creates
 * a user. A new link is a new way to sign in as the user, so, like the authenticator app, it
 * needs a fresh sign-in (login.freshSignInS, src/domain/recent-sign-in.ts) when it starts; the
 * upstream's answer must come back within LINK_TTL_S, once.
 */
const startForm = z.object({ idpId: z.string().min(1).max(100) });

interface PendingLink extends UpstreamAuthorization {
  startedAt: number;
}

async function refuse(ctx: Context, messageKey: string, status: number, vars: Record<string, string> = {}): Promise<void> {
  const a = accountState(ctx);
  await renderAccount(
    ctx,
    'identity-link-failed',
    { heading: a.t('identities.linkFailedTitle'), message: a.t(messageKey, vars) },
    { titleKey: 'identities.linkFailedTitle', navKey: 'identities', status },
  );
}

async function linkable(ctx: Context, idpId: string) {
  return (await linkableIdps(accountState(ctx).svc)).find((i) => i.id === idpId);
}

export function identityLinkPages(router: Router): void {
  // After signing in again: the same button once more (the upstream authorization starts only from a POST with the form's token).
  router.get('/identities/link', async (ctx) => {
    const idp = await linkable(ctx, typeof ctx.query.idp === 'string' ? ctx.query.idp : '');
    if (!idp) return refuse(ctx, 'identities.linkNotAvailable', 404);
    await renderAccount(ctx, 'identity-link', { idp }, { titleKey: 'identities.linkTitle', navKey: 'identities' });
  });

  router.post('/identities/link', async (ctx) => {
    const a = accountState(ctx);
    const parsed = startForm.safeParse((ctx.request as { body?: unknown }).body ?? {});
    const offered = parsed.success ? await linkable(ctx, parsed.data.idpId) : undefined;
    if (!offered) return refuse(ctx, 'identities.linkNotAvailable', 404);
    if (!freshSignIn(ctx, `${paths.identities}/link?idp=${encodeURIComponent(offered.id)}`)) return;
    const idp = await getIdpWithSecret(a.svc.scope, offered.id, a.svc.deps.box);
    if (!idp) return refuse(ctx, 'identities.linkNotAvailable', 404);
    let begun: Awaited<ReturnType<typeof beginUpstreamAuthorization>>;
    try {
      begun = await beginUpstreamAuthorization(a.svc.deps.outbound, idp, `${ctx.state.origin}${upstreamCallback.path}`, upstreamCallback.accountLinkPrefix);
    } catch {
      return refuse(ctx, 'identities.linkUnreachable', 502, { idp: idp.name });
    }
    const pending: PendingLink = { ...begun.pending, startedAt: Date.now() };
    await a.setData({ idpLink: pending });
    // Not a redirect: Chromium applies the page's form-action 'self' to a form's redirects too. The
    // page goes on by itself (meta refresh, no script), with a link in case it does not.
    await renderAccount(
      ctx,
      'identity-link-redirect',
      { idp: offered, url: begun.url.href },
      { titleKey: 'identities.linkTitle', navKey: 'identities', refreshTo: begun.url.href },
    );
  });

  router.get('/identities/link/return', async (ctx) => {
    const a = accountState(ctx);
    const pending = a.session.data.idpLink as PendingLink | undefined;
    // One answer per authorization: whatever comes back, the pending one is used up.
    if (pending) await a.setData({ idpLink: undefined });
    if (
      !pending ||
      typeof ctx.query.state !== 'string' ||
      !constantTimeEqual(ctx.query.state, pending.state) ||
      pending.startedAt < Date.now() - LINK_TTL_S * 1000
    ) {
      return refuse(ctx, 'identities.linkStateMismatch', 400);
    }
    const idp = await getIdpWithSecret(a.svc.scope, pending.idpId, a.svc.deps.box);
    if (!idp) return refuse(ctx, 'identities.linkNotAvailable', 404);
    if (ctx.query.error) return refuse(ctx, 'identities.linkCancelled', 400, { idp: idp.name });
    let profile: ExternalProfile;
    try {
      profile = await finishUpstreamAuthorization(a.svc.deps.outbound, idp, new URL(`${ctx.state.origin}${upstreamCallback.path}?${ctx.querystring}`), pending);
    } catch {
      return refuse(ctx, 'identities.linkCancelled', 400, { idp: idp.name });
    }
    const externalUsername = profile.preferredUsername ?? profile.email;
    try {
      await linkOwnIdentity(a.svc, { idpId: idp.id, externalUserId: profile.sub, externalUsername, startedAt: new Date(pending.startedAt) });
    } catch (err) {
      if (!(err instanceof DomainError)) throw err;
      // Checked when it started, so only a changed session gets here; signing in again would only
      // come back to this answer, used up by now: the user starts again instead.
      if (isReauthenticationRequired(err) || err.code === 'invalid_input') return refuse(ctx, 'identities.linkStateMismatch', 400);
      if (err.reason === 'idp_link.taken') return refuse(ctx, 'identities.linkTaken', 409, { idp: idp.name });
      if (err.reason === 'idp_link.exists_own') return refuse(ctx, 'identities.linkExistsOwn', 409, { idp: idp.name });
      if (err.reason === 'idp.not_available') return refuse(ctx, 'identities.linkNotAvailable', 403);
      throw err;
    }
    await flash(ctx, 'ok', a.t('identities.linked', { idp: idp.name, who: externalUsername ?? profile.sub }));
    ctx.redirect(paths.identities);
  });
}
