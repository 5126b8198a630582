import type { Context } from 'koa';

/**
 * The accounts this browser signed in with, for the account chooser. oidc-provider keeps one
 * session per browser; the others are remembered in a signed, HttpOnly cookie of user ids
 * (signed with the provider's keys: ctx.cookies is its jar on the login pages).
 */
const COOKIE = 'tessera_accounts';
const MAX_REMEMBERED = 5;

export function rememberedAccounts(ctx: Context): string[] {
  const raw = ctx.cookies.get(COOKIE, { signed: true }) ?? '';
  return raw.split('.').filter((id) => /^\d{1,30}$/.test(id));
}

export function rememberAccount(ctx: Context, userId: string): void {
  const ids = [userId, ...rememberedAccounts(ctx).filter((id) => id !== userId)].slice(0, MAX_REMEMBERED);
  ctx.cookies.set(COOKIE, ids.join('.'), {
    signed: true,
    httpOnly: true,
    sameSite: 'lax',
    path: '/ui/login',
    secure: ctx.protocol === 'https',
    maxAge: 30 * 86400_000,
  });
}
