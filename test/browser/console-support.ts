import { mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import type { LoginWorld } from '../integration/login-support.js';
import { waitOrExplain } from './browser-support.js';

/**
 * The console in Chromium: a journey is one admin (or manager) in one browser context, with a
 * screenshot of every page into test-artifacts/console/{journey}/ and an axe-core check of it.
 */
const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

export interface AxeViolation {
  id: string;
  impact: string;
  help: string;
  nodes: number;
}

export class ConsoleJourney {
  private n = 0;
  readonly dir: string;
  readonly consoleErrors: string[] = [];
  /** every serious or critical accessibility violation seen, by page */
  readonly violations: Record<string, AxeViolation[]> = {};

  private constructor(
    readonly w: LoginWorld,
    readonly browser: Browser,
    readonly context: BrowserContext,
    readonly page: Page,
    name: string,
  ) {
    this.dir = path.resolve('test-artifacts', 'console', name);
    mkdirSync(this.dir, { recursive: true });
    page.on('console', (m) => {
      if (m.type() === 'error') this.consoleErrors.push(m.text());
    });
  }

  static async start(w: LoginWorld, browser: Browser, name: string, opts: { locale?: string; width?: number } = {}): Promise<ConsoleJourney> {
    const context = await browser.newContext({ locale: opts.locale ?? 'en-US', viewport: { width: opts.width ?? 1200, height: 800 } });
    return new ConsoleJourney(w, browser, context, await context.newPage(), name);
  }

  url(path: string): string {
    return `${this.w.issuer}${path}`;
  }

  /** Screenshot and axe check of the page as it is now. */
  async check(name: string): Promise<void> {
    const file = path.join(this.dir, `${String(++this.n).padStart(2, '0')}-${name}.png`);
    await this.page.screenshot({ path: file, fullPage: true });
    this.violations[name] = await axeCheck(this.browser, this.page);
  }

  /** Signs in through the instance's login pages, as the person would. */
  async signIn(loginName: string, password: string, path = '/ui/console'): Promise<void> {
    await this.page.goto(this.url(path));
    // The login pages speak the browser's language too.
    await this.page.getByLabel(/^(Login name or email|Loginname oder E-Mail)$/).fill(loginName);
    await this.page.getByRole('button', { name: /^(Next|Weiter)$/ }).click();
    const passwordField = this.page.getByLabel(/^(Password|Passwort)$/);
    await waitOrExplain(this.page, passwordField, 'the password page after the login name');
    await passwordField.fill(password);
    await this.page.getByRole('button', { name: /^(Sign in|Anmelden)$/ }).click();
    await this.page.waitForURL((u) => u.pathname.startsWith('/ui/console'));
  }

  close(): Promise<void> {
    return this.context.close();
  }
}

/**
 * axe-core on a copy of the page's current DOM. The page itself keeps its strict CSP; only the
 * copy is loaded in a context that bypasses CSP, so axe's script can be injected. The copy is
 * served at the page's own URL, so its stylesheets load and colour contrast is measured as shown.
 */
async function axeCheck(browser: Browser, page: Page): Promise<AxeViolation[]> {
  const html = await page.content();
  const url = page.url();
  const context = await browser.newContext({ bypassCSP: true, viewport: page.viewportSize() ?? undefined });
  try {
    const copy = await context.newPage();
    await copy.route(url, (route) => route.fulfill({ status: 200, contentType: 'text/html; charset=utf-8', body: html }));
    // The copy runs no page script: it is a snapshot (and would submit nothing anyway).
    await copy.route('**/*.js', (route) => route.fulfill({ status: 200, contentType: 'text/javascript', body: '' }));
    await copy.goto(url);
    // The copy must be the page (not an error or a blank page), or the check would prove nothing.
    if ((await copy.title()) !== (await page.title())) throw new Error(`axe: the copy of ${url} is not the page`);
    await copy.addScriptTag({ content: axeSource });
    const result = await copy.evaluate(async () => {
      const r = await (
        globalThis as unknown as {
          axe: { run: (ctx: unknown, o: unknown) => Promise<{ violations: { id: string; impact: string; help: string; nodes: unknown[] }[] }> };
        }
      ).axe.run(document, { resultTypes: ['violations'] });
      return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.length }));
    });
    return result.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  } finally {
    await context.close();
  }
}
