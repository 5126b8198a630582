/**
 * The floor of a full sign-in on this stack: a bare oidc-provider (in-memory storage, one static
 * client) with the least a login can do — a login-name page and a password page that verify one
 * argon2id hash at Tessera's parameters, then finish the interaction with a grant. No database, no
 * Redis, no policies, no CSRF, no branding. bench/signin-load.ts walks it exactly as it walks
 * Tessera (same steps, same PKCE code exchange), so the gap between the two is Tessera's own work
 * and the gap between this and argon2 alone is what no implementation on oidc-provider avoids.
 *
 * Started by bench/scenarios/signin.ts as its own process: `tsx bench/bare-signin.ts PORT` with
 * BARE_SIGNIN (JSON: the password and argon2's parameters) in the environment. Prints one JSON
 * line when ready.
 */
import argon2 from 'argon2';
import type { Context, Next } from 'koa';
import Provider from 'oidc-provider';
import { memoryAdapter } from '../test/support/memory-adapter.js';
import { BARE_CLIENT, type BareSigninSetup } from './signin.js';

const setup = JSON.parse(process.env.BARE_SIGNIN ?? '{}') as BareSigninSetup;
const hash = await argon2.hash(setup.password, { type: argon2.argon2id, ...setup.params });
const port = Number(process.argv[2] ?? 0);
const issuer = `http://127.0.0.1:${port}`;

const provider = new Provider(issuer, {
  adapter: memoryAdapter(),
  clients: [{ client_id: BARE_CLIENT.id, client_secret: BARE_CLIENT.secret, redirect_uris: [BARE_CLIENT.redirectUri], response_types: ['code'] }],
  features: { devInteractions: { enabled: false } },
  interactions: { url: (_ctx: Context, interaction: { uid: string }) => `/ui/login/${interaction.uid}` },
  findAccount: async (_ctx: unknown, sub: string) => ({ accountId: sub, claims: async () => ({ sub }) }),
  pkce: { required: () => true },
});

const page = (action: string, field: string, type: string) =>
  `<!doctype html><html lang="en"><title>Sign in</title><form method="post" action="${action}"><label>${field}<input name="${field}" type="${type}"></label><button>Next</button></form></html>`;

async function formBody(ctx: Context): Promise<URLSearchParams> {
  let raw = '';
  for await (const chunk of ctx.req) raw += chunk;
  return new URLSearchParams(raw);
}

provider.use(async (ctx: Context, next: Next) => {
  const m = /^\/ui\/login\/([\w-]+)(?:\/(loginname|password))?$/.exec(ctx.path);
  if (!m) return next();
  const [, uid, step] = m;
  const details = await provider.interactionDetails(ctx.req, ctx.res);
  if (details.uid !== uid) ctx.throw(400);
  ctx.type = 'html';
  if (!step && ctx.method === 'GET') {
    ctx.body = page(`/ui/login/${uid}/loginname`, 'loginName', 'text');
  } else if (step === 'loginname' && ctx.method === 'POST') {
    const loginName = (await formBody(ctx)).get('loginName') ?? '';
    details.result = { loginName };
    await details.save(details.exp - Math.floor(Date.now() / 1000));
    ctx.body = page(`/ui/login/${uid}/password`, 'password', 'password');
  } else if (step === 'password' && ctx.method === 'POST') {
    const password = (await formBody(ctx)).get('password') ?? '';
    const loginName = String((details.result as { loginName?: string } | undefined)?.loginName ?? '');
    if (!loginName || !(await argon2.verify(hash, password))) ctx.throw(401);
    const grant = new provider.Grant({ accountId: loginName, clientId: String(details.params.client_id) });
    grant.addOIDCScope(String(details.params.scope));
    const grantId = await grant.save();
    const to = await provider.interactionResult(
      ctx.req,
      ctx.res,
      { login: { accountId: loginName }, consent: { grantId } },
      { mergeWithLastSubmission: false },
    );
    ctx.status = 303;
    ctx.redirect(to);
  } else ctx.throw(405);
});

const server = provider.listen(port, '127.0.0.1', () => process.stdout.write(`${JSON.stringify({ ready: true, issuer })}\n`));
process.on('SIGTERM', () => {
  server.closeAllConnections();
  server.close(() => process.exit(0));
});
