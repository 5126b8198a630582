/**
 * Tokens for an API, userinfo and introspection, each beside the bare oidc-provider's same endpoint:
 * - client_credentials with the project's audience scope (the token carries the machine user's
 *   roles, and the project's API app introspects it as active): the token an API of ours accepts;
 * - client_credentials without a scope, userinfo and introspection of a user's token, as before;
 * - introspection of the audience token by the project's API app.
 */
import { basic, FORM, loadSpec, measureSideBySide, warmUp, type Bare } from '../harness.js';
import { audienceToken, checkTokenRequests, tokenRequests } from '../instance.js';
import type { LoadRequest, Row } from '../report.js';
import { bareTarget, tesseraTarget, type Scenario } from './context.js';

export function bareRequests(bare: Bare): Record<'clientCredentials' | 'userinfo' | 'introspection' | 'discovery', LoadRequest> {
  const auth = { 'content-type': FORM, authorization: basic(...bare.client) };
  return {
    clientCredentials: { url: `${bare.issuer}/token`, method: 'POST', body: 'grant_type=client_credentials', headers: auth },
    userinfo: { url: `${bare.issuer}/me`, headers: { authorization: `Bearer ${bare.accessToken}` } },
    introspection: {
      url: `${bare.issuer}/token/introspection`,
      method: 'POST',
      body: new URLSearchParams({ token: bare.accessToken }).toString(),
      headers: auth,
    },
    discovery: { url: `${bare.issuer}/.well-known/openid-configuration` },
  };
}

export const tokens: Scenario = async (ctx) => {
  const { settings } = ctx;
  const reqs = tokenRequests(ctx.tessera, ctx.small, await audienceToken(ctx.small));
  const bare = bareRequests(ctx.bare);
  await checkTokenRequests(reqs);
  const ccBare: [LoadRequest, string] = [bare.clientCredentials, 'bare oidc-provider client_credentials'];
  const userinfoBare: [LoadRequest, string] = [bare.userinfo, 'bare oidc-provider userinfo'];
  const introspectionBare: [LoadRequest, string] = [bare.introspection, 'bare oidc-provider introspection'];
  const pairs: [string, LoadRequest, [LoadRequest, string], Row['targets']?][] = [
    ['client_credentials, project audience scope', reqs.clientCredentialsAudience, ccBare, [{ kind: 'share', atLeast: 0.5 }]],
    ['client_credentials, no scope', reqs.clientCredentials, ccBare],
    ['userinfo (roles claim)', reqs.userinfo, userinfoBare],
    ["introspection of a user's token by the API app", reqs.introspection, introspectionBare],
    ['introspection of the audience token by the API app', reqs.introspectionAudience, introspectionBare],
  ];
  await warmUp('tokens', settings, [
    ...pairs.map(([path, tessera]) => ({ name: `Tessera, ${path}`, spec: loadSpec(settings, tessera) })),
    ...[ccBare, userinfoBare, introspectionBare].map(([r, what]) => ({ name: what, spec: loadSpec(settings, r) })),
  ]);
  const rows: Row[] = [];
  for (const [path, tessera, [ceiling, ceilingWhat], targets] of pairs) {
    const [measured, ceilingFigure] = await measureSideBySide(`tokens: ${path}`, settings, [
      { name: 'Tessera', target: tesseraTarget(ctx), spec: loadSpec(settings, tessera) },
      { name: ceilingWhat, target: bareTarget(ctx), spec: loadSpec(settings, ceiling) },
    ]);
    rows.push({ scenario: 'tokens', path, measured, ceiling: { what: ceilingWhat, figure: ceilingFigure }, ...(targets ? { targets } : {}) });
  }
  // A token evicted or revoked under load would have made the figures meaningless.
  await checkTokenRequests(reqs);
  return { rows };
};
