import { loginWorld, type LoginWorld } from './login-support.js';
import { startUpstream, type Upstream } from '../browser/upstream.js';
import { addHuman, addOrg, Browser, formsOf, type HttpResponse } from '../support/rp.js';
import { createIdp, linkUserToIdp, listIdpLinksOfUser } from '../../src/domain/idp/service.js';
import { setOrgPolicy } from '../../src/domain/policy/service.js';
import { linkOwnIdentity } from '../../src/domain/idp/own-links.js';
import { newId } from '../../src/shared/ids.js';

/**
 * Linking an external account from the account page, over HTTP against a real upstream OpenID
 * Provider: what is refused (an upstream account another user has, an answer that does not match
 * the session's pending link or comes without the session, an IdP the user's org does not offer,
 * a form without its token), and the audit event of a link that succeeds.
 */
let w: LoginWorld;
let up: Upstream;
let idpId: string;
beforeAll(async () => {
  w = await loginWorld('AccountLink');
  up = await startUpstream([`http://${w.inst.domain}:${w.server.port}/ui/login/idp/callback`]);
  ({ id: idpId } = await createIdp(w.sys(), {
    orgId: w.inst.orgId,
    name: 'Fabrikam Okta',
    issuer: up.issuer,
    clientId: up.clientId,
    clientSecret: up.clientSecret,
    isCreationAllowed: false,
  }));
  await setOrgPolicy(w.sys(), w.inst.orgId, 'login', { allowExternalIdp: true, idpIds: [idpId] });
});
afterAll(async () => {
  await up?.close();
  await w?.close();
});

const url = (path: string) => new URL(path, w.issuer);
const decode = (s: string) => s.replace(/&amp;/g, '&');

async function page(b: Browser, target: URL, form?: Record<string, string>): Promise<HttpResponse> {
  const r = await b.navigate(target, form ? { form } : {});
  if ('redirectedTo' in r) throw new Error(`unexpected stop at ${r.redirectedTo}`);
  return r;
}

async function submit(b: Browser, p: HttpResponse, match: (action: URL) => boolean, fields: Record<string, string> = {}): Promise<HttpResponse> {
  const form = formsOf(p).find((f) => match(f.action));
  if (!form) throw new Error(`no such form on ${p.url} (${p.status}): ${p.body.slice(0, 600)}`);
  return page(b, form.action, { ...form.fields, ...fields });
}

/** A browser signed in at /ui/account with the user's password. */
async function signedIn(user: { loginName: string; password: string }) {
  const b = new Browser();
  let p = await page(b, url('/ui/account/identities'));
  p = await submit(b, p, (a) => a.pathname.endsWith('/loginname'), { loginName: user.loginName });
  p = await submit(b, p, (a) => a.pathname.endsWith('/password'), { password: user.password });
  if (p.url.pathname !== '/ui/account/identities') throw new Error(`not at the account page: ${p.url} ${p.status} ${p.body.slice(0, 600)}`);
  return { b, p };
}

/** Link (the page's button), then the upstream's own login as `sub`: the page the browser ends on. */
async function linkAs(b: Browser, identities: HttpResponse, sub: string): Promise<HttpResponse> {
  const going = await submit(b, identities, (a) => a.pathname === '/ui/account/identities/link');
  const to = /http-equiv="refresh" content="0; url=([^"]+)"/.exec(going.body)?.[1];
  if (!to) throw new Error(`no way to the upstream (${going.status}): ${going.body.slice(0, 600)}`);
  let p = await page(b, new URL(decode(to)));
  expect(p.url.origin).toBe(up.issuer);
  p = await submit(b, p, () => true, { login: sub, password: 'x' });
  if (p.url.origin === up.issuer) p = await submit(b, p, () => true);
  return p;
}

test('a link is recorded as the user’s own change; the same upstream account cannot be linked to a second user, who learns not whose it is', async () => {
  const first = await addHuman(w.rt, w.inst.scope, w.inst.orgId, { username: `lo${newId()}` });
  const second = await addHuman(w.rt, w.inst.scope, w.inst.orgId, { username: `lt${newId()}` });
  const sub = `okta-${newId()}`;
  up.accounts.set(sub, { email: 'shared@fabrikam.example', email_verified: true });

  const a = await signedIn(first);
  const linked = await linkAs(a.b, a.p, sub);
  expect(linked.url.pathname).toBe('/ui/account/identities');
  expect(linked.body).toContain('Your account shared@fabrikam.example at Fabrikam Okta is linked.');
  const events = await w.inst.scope.table('audit_events').where({ resource_id: first.userId, type: 'user.idp.linked' });
  expect(events).toHaveLength(1);
  expect(events[0]).toMatchObject({ actor_type: 'user', actor_id: first.userId, payload: { idpId, externalUserId: sub, selfService: true } });

  const b = await signedIn(second);
  const refused = await linkAs(b.b, b.p, sub);
  expect(refused.status).toBe(409);
  expect(refused.body).toContain('This account at Fabrikam Okta is already linked to another user, so it cannot be linked to yours.');
  for (const name of [first.username, first.loginName, first.userId]) expect(refused.body).not.toContain(name);
  expect(await listIdpLinksOfUser(w.inst.scope, second.userId)).toEqual([]);
  expect((await listIdpLinksOfUser(w.inst.scope, first.userId)).map((l) => l.external_user_id)).toEqual([sub]);
});

test('an answer whose state is not the pending one links nothing, and uses the pending link up', async () => {
  const u = await addHuman(w.rt, w.inst.scope, w.inst.orgId, { username: `ls${newId()}` });
  const sub = `okta-${newId()}`;
  up.accounts.set(sub, {});
  const { b, p } = await signedIn(u);
  const going = await submit(b, p, (a) => a.pathname === '/ui/account/identities/link');
  const upstreamUrl = new URL(decode(/http-equiv="refresh" content="0; url=([^"]+)"/.exec(going.body)![1]));
  expect(upstreamUrl.searchParams.get('state')).toMatch(/^link\./);
  expect(upstreamUrl.searchParams.get('code_challenge_method')).toBe('S256');
  expect(upstreamUrl.searchParams.get('nonce')).toBeTruthy();

  const forged = await page(b, url(`/ui/login/idp/callback?state=link.${newId()}&code=forged`));
  expect(forged.status).toBe(400);
  expect(forged.body).toContain('The answer of the provider does not belong to a link started in this browser, or it came too late.');

  // The real answer now comes too late: the forged one used the pending link up.
  let q = await page(b, upstreamUrl);
  q = await submit(b, q, () => true, { login: sub, password: 'x' });
  if (q.url.origin === up.issuer) q = await submit(b, q, () => true);
  expect(q.status).toBe(400);
  expect(q.body).toContain('does not belong to a link started in this browser');
  expect(await listIdpLinksOfUser(w.inst.scope, u.userId)).toEqual([]);
});

test('an answer without the account session is refused with a page that says so', async () => {
  const stranger = new Browser();
  const p = await page(stranger, url(`/ui/login/idp/callback?state=link.${newId()}&code=whatever`));
  expect(p.url.pathname).toBe('/ui/account/identities/link/return');
  expect(p.status).toBe(400);
  expect(p.body).toContain('Linking an account needs you to be signed in to your account page in this browser.');
});

test('an IdP the user’s org does not offer, or one already linked, has no Link button and is refused; so is a form without its token', async () => {
  const otherOrg = await addOrg(w.inst.scope, `Other ${newId()}`, `o${newId()}.example`);
  const { id: foreignIdp } = await createIdp(w.sys(), { orgId: otherOrg, name: 'Foreign AD', issuer: up.issuer, clientId: up.clientId, clientSecret: 's' });
  const { id: unlisted } = await createIdp(w.sys(), { name: 'Unlisted instance IdP', issuer: up.issuer, clientId: up.clientId, clientSecret: 's' });
  const u = await addHuman(w.rt, w.inst.scope, w.inst.orgId, { username: `lx${newId()}` });
  const { b, p } = await signedIn(u);
  expect(p.body).toContain('Link<span class="visually-hidden"> Fabrikam Okta</span>');
  expect(p.body).not.toContain('Foreign AD');
  expect(p.body).not.toContain('Unlisted instance IdP');
  const csrf = formsOf(p).find((f) => f.action.pathname === '/ui/account/identities/link')!.fields._csrf;
  for (const id of [foreignIdp, unlisted]) {
    const r = await page(b, url('/ui/account/identities/link'), { _csrf: csrf, idpId: id });
    expect(r.status).toBe(404);
    expect(r.body).toContain('This provider cannot be linked to your account.');
  }
  const noToken = await page(b, url('/ui/account/identities/link'), { idpId });
  expect(noToken.status).toBe(403);

  await linkUserToIdp(w.sys(), { idpId, externalUserId: `okta-${newId()}`, userId: u.userId });
  const again = await page(b, url('/ui/account/identities'));
  expect(again.body).not.toContain('Link<span class="visually-hidden"> Fabrikam Okta</span>');
  const r = await page(b, url('/ui/account/identities/link'), { _csrf: csrf, idpId });
  expect(r.status).toBe(404);
});

test('the domain links only after a sign-in that was recent when the link started, and only a link started in the last ten minutes', async () => {
  const u = await addHuman(w.rt, w.inst.scope, w.inst.orgId, { username: `ld${newId()}` });
  const now = Math.floor(Date.now() / 1000);
  const as = (authTime: number) => ({
    deps: w.rt.deps,
    scope: w.inst.scope,
    actor: { type: 'user' as const, userId: u.userId, orgId: w.inst.orgId, authTime },
  });
  const input = (startedAt: Date) => ({ idpId, externalUserId: `okta-${newId()}`, startedAt });

  await expect(linkOwnIdentity(as(now - 3600), input(new Date()))).rejects.toMatchObject({ reason: 'reauthentication_required' });
  await expect(linkOwnIdentity(as(now), input(new Date(Date.now() - 11 * 60_000)))).rejects.toMatchObject({ code: 'invalid_input' });
  expect(await listIdpLinksOfUser(w.inst.scope, u.userId)).toEqual([]);
  // Signed in four minutes before starting, back from the upstream three minutes later: linked.
  await linkOwnIdentity(as(now - 7 * 60), input(new Date(Date.now() - 3 * 60_000)));
  expect(await listIdpLinksOfUser(w.inst.scope, u.userId)).toHaveLength(1);
});
