import type { ServiceContext } from '../../src/domain/deps.js';
import { addMember } from '../../src/domain/membership/service.js';
import { createHumanUser } from '../../src/domain/user/service.js';
import { Browser, formsOf, type HttpResponse } from '../support/rp.js';
import type { LoginWorld } from './login-support.js';

/**
 * Walks the console's sign-in as a browser without JavaScript would: /ui/console redirects to
 * the instance's login pages, the login name and password go in, and the callback lands on a
 * console page. Returns that page (or wherever the walk stopped).
 */
export async function consoleSignIn(
  w: LoginWorld,
  loginName: string,
  password: string,
  browser = new Browser(),
  path = '/ui/console',
): Promise<{ browser: Browser; page: HttpResponse }> {
  let step = await browser.navigate(new URL(path, w.issuer));
  for (let i = 0; i < 4 && !('redirectedTo' in step) && !step.url.pathname.startsWith('/ui/console'); i++) {
    const form = formsOf(step as HttpResponse).find((f) => f.method.toLowerCase() === 'post' && /\/(loginname|password)$/.test(f.action.pathname));
    if (!form) break;
    const fields = { ...form.fields, ...(form.action.pathname.endsWith('/loginname') ? { loginName } : { password }) };
    step = await browser.navigate(form.action, { form: fields });
  }
  return { browser, page: step as HttpResponse };
}

/** A form of a console page by the end of its action, with its hidden fields (the CSRF token among them). */
export function consoleForm(page: HttpResponse, actionSuffix: string) {
  const form = formsOf(page).find((f) => f.method.toLowerCase() === 'post' && f.action.pathname.endsWith(actionSuffix));
  if (!form) throw new Error(`no form ${actionSuffix} on ${page.url.pathname} (${page.status}): ${page.body.slice(0, 600)}`);
  return form;
}

export async function submitConsoleForm(browser: Browser, page: HttpResponse, actionSuffix: string, fields: Record<string, string> = {}) {
  const form = consoleForm(page, actionSuffix);
  return browser.navigate(form.action, { form: { ...form.fields, ...fields } }) as Promise<HttpResponse>;
}

/** A human user with a password and, optionally, manager roles on their own org. */
export async function manager(
  sys: ServiceContext,
  orgId: string,
  username: string,
  domain: string,
  roles: string[] = [],
): Promise<{ id: string; loginName: string; password: string }> {
  const password = 'Manager-Passw0rd!';
  const { id } = await createHumanUser(sys, { orgId, username, email: `${username}@example.com`, emailVerified: true, password });
  if (roles.length) await addMember(sys, { userId: id, level: 'org', orgId, roles });
  return { id, loginName: `${username}@${domain}`, password };
}

const attrOf = (src: string, n: string) => new RegExp(`\\b${n}="([^"]*)"`).exec(src)?.[1];
const unescapeHtml = (s: string) =>
  s
    .replace(/&#3[49];/g, (e) => (e === '&#34;' ? '"' : "'"))
    .replace(/&quot;/g, '"')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');

/**
 * A console form as a browser posts it (unlike `formsOf`, which takes every input): only checked
 * boxes, each select's chosen option (else its first), repeated names kept. `changes` then sets
 * fields as a user would: a string fills or ticks, a list ticks exactly those boxes, null clears.
 */
export async function postAsBrowser(
  browser: Browser,
  page: HttpResponse,
  actionSuffix: string,
  changes: Record<string, string | string[] | null> = {},
): Promise<HttpResponse> {
  for (const m of page.body.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form>/g)) {
    const action = new URL(unescapeHtml(attrOf(m[1], 'action') ?? ''), page.url);
    if ((attrOf(m[1], 'method') ?? 'get').toLowerCase() !== 'post' || !action.pathname.endsWith(actionSuffix)) continue;
    const fields: [string, string][] = [];
    for (const input of m[2].matchAll(/<input\b([^>]*)>/g)) {
      const name = attrOf(input[1], 'name');
      const type = attrOf(input[1], 'type') ?? 'text';
      if (!name || ((type === 'checkbox' || type === 'radio') && !/\bchecked\b/.test(input[1]))) continue;
      fields.push([name, unescapeHtml(attrOf(input[1], 'value') ?? '')]);
    }
    for (const select of m[2].matchAll(/<select\b([^>]*)>([\s\S]*?)<\/select>/g)) {
      const options = [...select[2].matchAll(/<option\b([^>]*)>/g)].map((o) => o[1]);
      const chosen = options.find((o) => /\bselected\b/.test(o)) ?? options[0];
      if (chosen !== undefined) fields.push([attrOf(select[1], 'name')!, unescapeHtml(attrOf(chosen, 'value') ?? '')]);
    }
    for (const textarea of m[2].matchAll(/<textarea\b([^>]*)>([\s\S]*?)<\/textarea>/g)) fields.push([attrOf(textarea[1], 'name')!, unescapeHtml(textarea[2])]);
    const out = fields.filter(([name]) => !(name in changes));
    for (const [name, value] of Object.entries(changes)) {
      if (value === null) continue;
      for (const v of Array.isArray(value) ? value : [value]) out.push([name, v]);
    }
    return browser.navigate(action, { form: out }) as Promise<HttpResponse>;
  }
  throw new Error(`no form ${actionSuffix} on ${page.url.pathname} (${page.status}): ${page.body.slice(0, 600)}`);
}

/** A console page by path, for a signed-in browser. */
export async function consolePage(browser: Browser, w: LoginWorld, path: string): Promise<HttpResponse> {
  return browser.navigate(new URL(path, w.issuer)) as Promise<HttpResponse>;
}
