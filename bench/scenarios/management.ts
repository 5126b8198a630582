/**
 * Management API reads with a personal access token, as an admin tool or a provisioning job makes
 * them, beside the bare oidc-provider's discovery (the cheapest answer this machine serves through
 * oidc-provider): one user, a page of 20 users, the org's projects. Tessera's own discovery is
 * measured too, for what the instance resolution and the outer app cost.
 */
import { instanceRequest, loadSpec, measureSideBySide, warmUp } from '../harness.js';
import { callerPat, once } from '../instance.js';
import type { LoadRequest, Row } from '../report.js';
import { bareTarget, tesseraTarget, type Scenario } from './context.js';
import { bareRequests } from './tokens.js';

export const management: Scenario = async (ctx) => {
  const { settings, tessera, small } = ctx;
  const pat = await callerPat(small);
  const auth = { authorization: `Bearer ${pat}` };
  const api = (path: string) => instanceRequest(tessera, small.host, `/management/v1${path}`, { headers: auth });
  const page = await once(api('/users?limit=20'));
  if (page.result?.length !== 20) throw new Error(`list 20 users: ${page.result?.length} users (the org needs at least 20)`);
  const user = page.result.find((u: { username: string }) => u.username === 'bench-user');
  if (!user) throw new Error('bench-user is not on the first page of users');
  const reads: [string, LoadRequest, number?][] = [
    ['Management API: GET one user (PAT)', api(`/users/${user.id}`), 0.3],
    ['Management API: list 20 users (PAT)', api('/users?limit=20'), 0.15],
    ['Management API: list projects (PAT)', api('/projects')],
    ['discovery (Tessera)', instanceRequest(tessera, small.host, '/.well-known/openid-configuration')],
  ];
  for (const [, r] of reads) await once(r);
  const bare = bareRequests(ctx.bare).discovery;
  const loads = [
    ...reads.map(([path, r]) => ({ name: path, target: tesseraTarget(ctx), spec: loadSpec(settings, r, settings.apiConnections) })),
    { name: 'bare oidc-provider discovery', target: bareTarget(ctx), spec: loadSpec(settings, bare, settings.apiConnections) },
  ];
  await warmUp('management', settings, loads);
  const figures = await measureSideBySide('management', settings, loads);
  const ceiling = { what: 'bare oidc-provider discovery', figure: figures[reads.length] };
  const rows: Row[] = reads.map(([path, , share], i) => ({
    scenario: 'management',
    path,
    measured: figures[i],
    ceiling,
    ...(share ? { targets: [{ kind: 'share' as const, atLeast: share }] } : {}),
  }));
  return { rows };
};
