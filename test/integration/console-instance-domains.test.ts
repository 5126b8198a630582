import { addMember } from '../../src/domain/membership/service.js';
import type { Runtime } from '../../src/runtime/index.js';
import { newId } from '../../src/shared/ids.js';
import { localRequest, serveApp, type HttpResponse } from '../support/rp.js';
import { testInstance, testRuntime } from '../support/runtime.js';
import { loginWorld, type LoginWorld } from './login-support.js';
import { consoleForm, consoleSignIn, manager, submitConsoleForm } from './console-support.js';

/**
 * The instance domains page over HTTP: an instance owner adds a domain (and the instance then
 * answers there, in this process and in another one whose host cache had the miss), makes it
 * primary and removes one after a confirmation page; bad input comes back on the field; the
 * domain in use, the primary and the last domain are refused; others get the 404 page.
 */
let w: LoginWorld;
let rtB: Runtime;
let serverB: Awaited<ReturnType<typeof serveApp>>;
beforeAll(async () => {
  w = await loginWorld('Domains');
  // A second process: its own host → instance cache, told of changes only through Redis.
  rtB = await testRuntime();
  serverB = await serveApp(rtB);
}, 60_000);
afterAll(async () => {
  await serverB?.close();
  await rtB?.close();
  await w?.close();
});

const PAGE = '/ui/console/instance/domains';
const domains = async () =>
  (await w.rt.db.knex('instance_domains').where({ instance_id: w.inst.instanceId }).orderBy('domain')).map(
    (d) => `${d.domain}${d.is_primary ? ' (primary)' : ''}`,
  );
const discovery = (host: string, port: number) => localRequest(new URL(`http://${host}:${port}/.well-known/openid-configuration`));
const orgDomain = () => w.inst.adminLoginName.split('@')[1];
/** The flash message of a page (what the user reads after a button). */
const flashOf = (page: HttpResponse) =>
  /<p class="flash (ok|error)" role="(?:status|alert)">([^<]*)<\/p>/
    .exec(page.body)
    ?.slice(1, 3)
    .map((t) => t.replace(/&#39;/g, "'"));

async function eventually(check: () => Promise<boolean>, ms = 5000): Promise<boolean> {
  for (const until = Date.now() + ms; Date.now() < until; await new Promise((r) => setTimeout(r, 50))) if (await check()) return true;
  return check();
}

test('only an instance owner changes the domains: others get the 404 page or a read-only list, and their POSTs change nothing', async () => {
  const before = await domains();
  const owner = await manager(w.sys(), w.inst.orgId, `orgowner${newId()}`, orgDomain(), ['ORG_OWNER']);
  const o = await consoleSignIn(w, owner.loginName, owner.password);
  expect((await o.browser.navigate(new URL(PAGE, w.issuer))) as HttpResponse).toMatchObject({ status: 404 });
  const csrf = consoleForm(o.page, '/sign-out').fields._csrf;
  const forged = (await o.browser.navigate(new URL(PAGE, w.issuer), { form: { _csrf: csrf, domain: `forged${newId()}.test` } })) as HttpResponse;
  expect(forged.status).toBe(404);

  // An IAM_ORG_MANAGER sees the instance's pages, and the domains read-only.
  const iam = await manager(w.sys(), w.inst.orgId, `iamorg${newId()}`, orgDomain());
  await addMember(w.sys(), { userId: iam.id, level: 'instance', roles: ['IAM_ORG_MANAGER'] });
  const m = await consoleSignIn(w, iam.loginName, iam.password, undefined, PAGE);
  expect(m.page.status).toBe(200);
  expect(m.page.body).toContain(w.inst.domain);
  expect(m.page.body).toContain('Only an instance owner changes the instance&#39;s domains.');
  expect(m.page.body).not.toContain('Add domain');
  const iamCsrf = consoleForm(m.page, '/sign-out').fields._csrf;
  const tried = (await m.browser.navigate(new URL(PAGE, w.issuer), { form: { _csrf: iamCsrf, domain: `forged${newId()}.test` } })) as HttpResponse;
  expect(tried.status).toBe(404);
  const primary = (await m.browser.navigate(new URL(`${PAGE}/primary`, w.issuer), { form: { _csrf: iamCsrf, domain: w.inst.domain } })) as HttpResponse;
  expect(primary.status).toBe(404);
  expect(((await m.browser.navigate(new URL(`${PAGE}/${w.inst.domain}/remove`, w.issuer))) as HttpResponse).status).toBe(404);
  // Without the CSRF token even the owner's POST is refused.
  const admin = await consoleSignIn(w, w.inst.adminLoginName, w.inst.adminPassword, undefined, PAGE);
  const noCsrf = (await admin.browser.navigate(new URL(PAGE, w.issuer), { form: { domain: `nocsrf${newId()}.test` } })) as HttpResponse;
  expect(noCsrf.status).toBe(403);
  expect(await domains()).toEqual(before);
});

test('add (bad input first), the new domain serves the instance in every process, make it primary, remove with a confirmation', async () => {
  const other = await testInstance(w.rt, 'Other');
  const alias = `alias-${w.inst.domain}`;
  const { browser, page } = await consoleSignIn(w, w.inst.adminLoginName, w.inst.adminPassword, undefined, PAGE);
  expect(page.status).toBe(200);
  expect(page.body).toMatch(new RegExp(`<code>${w.inst.domain}</code>[\\s\\S]*?primary[\\s\\S]*?you are here`));

  // Bad input: the value typed back, one message on the field, nothing added.
  for (const [typed, message] of [
    ['https://auth.example.com/', 'Enter a host name such as auth.example.com, without scheme, port or path.'],
    [other.domain, 'Another instance already answers on this domain.'],
    [w.inst.domain.toUpperCase(), 'The instance already has this domain.'],
    ['', 'Please fill this in.'],
  ]) {
    const res = await submitConsoleForm(browser, page, PAGE, { domain: typed, primary: '' });
    expect(res.status).toBe(400);
    expect(res.body).toContain(message);
    expect(res.body).toMatch(/id="f-domain-domain"[^>]*aria-invalid="true"/);
    expect(res.body).toContain(`value="${typed}"`);
  }
  expect(await domains()).toEqual([`${w.inst.domain} (primary)`]);

  // Before: neither process serves the alias (and process B keeps that miss in its cache).
  expect((await discovery(alias, w.server.port)).status).toBe(404);
  expect((await discovery(alias, serverB.port)).status).toBe(404);

  const added = await submitConsoleForm(browser, page, PAGE, { domain: alias, primary: '' });
  expect(added.status).toBe(200);
  expect(flashOf(added)).toEqual(['ok', `${alias} was added: the instance now answers there.`]);
  expect(await domains()).toEqual([`${alias}`, `${w.inst.domain} (primary)`].sort());
  const here = await discovery(alias, w.server.port);
  expect(here.status).toBe(200);
  expect(JSON.parse(here.body).issuer).toBe(`http://${alias}:${w.server.port}`);
  expect(await eventually(async () => (await discovery(alias, serverB.port)).status === 200)).toBe(true);
  expect(JSON.parse((await discovery(alias, serverB.port)).body).issuer).toBe(`http://${alias}:${serverB.port}`);

  // Make the alias primary.
  const primary = await submitConsoleForm(browser, added, `${PAGE}/primary`, { domain: alias });
  expect(flashOf(primary)).toEqual(['ok', `${alias} is now the primary domain.`]);
  expect(await domains()).toEqual([`${alias} (primary)`, w.inst.domain].sort());

  // The domain this console is on is not offered for removal, and a hand-made POST is refused.
  expect(primary.body).not.toContain(`${PAGE}/${w.inst.domain}/remove`);
  const csrf = consoleForm(primary, '/sign-out').fields._csrf;
  const refused = (await browser.navigate(new URL(`${PAGE}/${w.inst.domain}/remove`, w.issuer), { form: { _csrf: csrf } })) as HttpResponse;
  expect(flashOf(refused)).toEqual([
    'error',
    'You are using the console on this domain, so it cannot be removed from here. Open the console on another domain of the instance to remove it.',
  ]);
  expect(await domains()).toEqual([`${alias} (primary)`, w.inst.domain].sort());

  // On the alias the console works too (its built-in client follows the domains): remove the old domain there.
  const aliasIssuer = `http://${alias}:${w.server.port}`;
  const onAlias = await consoleSignIn({ ...w, issuer: aliasIssuer }, w.inst.adminLoginName, w.inst.adminPassword, undefined, PAGE);
  expect(onAlias.page.url.host).toBe(`${alias}:${w.server.port}`);
  expect(onAlias.page.body).toContain(`${PAGE}/${w.inst.domain}/remove`);
  const confirm = (await onAlias.browser.navigate(new URL(`${PAGE}/${w.inst.domain}/remove`, aliasIssuer))) as HttpResponse;
  expect(confirm.status).toBe(200);
  expect(confirm.body).toContain(`Remove ${w.inst.domain}?`);
  expect(await domains()).toEqual([`${alias} (primary)`, w.inst.domain].sort());
  const removed = await submitConsoleForm(onAlias.browser, confirm, `/${w.inst.domain}/remove`);
  expect(flashOf(removed)).toEqual(['ok', `${w.inst.domain} was removed: the instance no longer answers there.`]);
  expect(await domains()).toEqual([`${alias} (primary)`]);
  expect((await discovery(w.inst.domain, w.server.port)).status).toBe(404);
  expect(await eventually(async () => (await discovery(w.inst.domain, serverB.port)).status === 404)).toBe(true);

  // The last domain stays; a domain the instance does not have is the 404 page.
  const aliasCsrf = consoleForm(removed, '/sign-out').fields._csrf;
  const last = (await onAlias.browser.navigate(new URL(`${PAGE}/${alias}/remove`, aliasIssuer), { form: { _csrf: aliasCsrf } })) as HttpResponse;
  expect(flashOf(last)).toEqual(['error', "This is the instance's last domain: it cannot be removed."]);
  expect(await domains()).toEqual([`${alias} (primary)`]);
  expect(((await onAlias.browser.navigate(new URL(`${PAGE}/${other.domain}/remove`, aliasIssuer))) as HttpResponse).status).toBe(404);
  expect(await w.rt.db.knex('instance_domains').where({ instance_id: other.instanceId })).toHaveLength(1);

  const audit = await w.rt.db.knex('audit_events').where({ instance_id: w.inst.instanceId }).where('type', 'like', 'instance.domain.%').orderBy('seq');
  expect(audit.map((e) => [e.type, e.actor_id])).toEqual([
    ['instance.domain.added', w.inst.adminUserId],
    ['instance.domain.primary_set', w.inst.adminUserId],
    ['instance.domain.removed', w.inst.adminUserId],
  ]);
});

test('the primary domain is refused with its own message', async () => {
  // Continuing on the alias, now the only and primary domain: add one more, then try the primary from it.
  const alias = `alias-${w.inst.domain}`;
  const extra = `extra-${w.inst.domain}`;
  const issuer = `http://${alias}:${w.server.port}`;
  const { browser, page } = await consoleSignIn({ ...w, issuer }, w.inst.adminLoginName, w.inst.adminPassword, undefined, PAGE);
  // (the test helper sends every checkbox as checked: an unticked one is sent empty)
  await submitConsoleForm(browser, page, PAGE, { domain: extra, primary: '' });
  const onExtra = await consoleSignIn({ ...w, issuer: `http://${extra}:${w.server.port}` }, w.inst.adminLoginName, w.inst.adminPassword, undefined, PAGE);
  const csrf = consoleForm(onExtra.page, '/sign-out').fields._csrf;
  const res = (await onExtra.browser.navigate(new URL(`${PAGE}/${alias}/remove`, `http://${extra}:${w.server.port}`), {
    form: { _csrf: csrf },
  })) as HttpResponse;
  expect(flashOf(res)).toEqual(['error', 'The primary domain cannot be removed. Make another domain primary first.']);
  expect(await domains()).toEqual([`${alias} (primary)`, extra].sort());
});
