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
