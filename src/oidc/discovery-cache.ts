import type { Context } from 'koa';

/**
 * Each provider's discovery document, kept once oidc-provider has served it. The document depends
 * only on the provider's configuration (issuer, features, scopes, claims, algorithms), which a
 * built provider never changes (a settings or key change builds a new provider, whose document
 * oidc-provider serves again the first time), and on the host the request names: oidc-provider
 * writes the endpoints' URLs against it. So a document is kept per provider and request host.
 * Answering from here skips oidc-provider's request pipeline, which costs several times more
 * per request once requests spread over many instances' providers (docs/benchmark.md).
 */
const documents = new WeakMap<object, Map<string, string>>();

/**
 * Spellings of one host a provider keeps a document for. One origin has few (a trailing dot, an
 * explicit default port); past this, documents are served by oidc-provider and not kept.
 */
const HOSTS_PER_PROVIDER = 8;

// Both Koa apps (Tessera's and oidc-provider's) trust the same forwarded headers (src/http/trusted-proxies.ts).
const hostOf = (ctx: { protocol: string; host: string }) => `${ctx.protocol}://${ctx.host.toLowerCase()}`;

/** provider.use: remembers the document a provider answered with (either discovery path: the same document). */
export async function rememberDiscovery(ctx: any, next: () => Promise<void>): Promise<void> {
  await next();
  if (ctx.oidc?.route !== 'discovery' || ctx.status !== 200 || !ctx.body || typeof ctx.body !== 'object') return;
  const provider: object = ctx.oidc.provider;
  let byHost = documents.get(provider);
  if (!byHost) documents.set(provider, (byHost = new Map()));
  if (byHost.size < HOSTS_PER_PROVIDER) byHost.set(hostOf(ctx), JSON.stringify(ctx.body));
}

/**
 * Answers GET /.well-known/openid-configuration from the kept document, exactly as oidc-provider
 * does (its CORS headers: Vary: Origin and the request's origin, else `*`; JSON). False when
 * the request is another one or no document is kept for it yet.
 */
export function answerDiscovery(ctx: Context, provider: object): boolean {
  if (ctx.method !== 'GET' || ctx.path !== '/.well-known/openid-configuration') return false;
  const document = documents.get(provider)?.get(hostOf(ctx));
  if (document === undefined) return false;
  ctx.vary('Origin');
  ctx.set('Access-Control-Allow-Origin', ctx.get('Origin') || '*');
  ctx.type = 'application/json';
  ctx.body = document;
  return true;
}
