import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Locator, type Page } from 'playwright-core';
import { client } from '../support/rp.js';
import type { LoginWorld } from '../integration/login-support.js';

/**
 * Debian's Chromium driven by playwright-core. Instance domains (*.test) resolve to 127.0.0.1
 * inside the browser; the relying party's redirect URI is answered by the test itself, so a
 * journey ends when the browser arrives there with a code.
 */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--host-resolver-rules=MAP * 127.0.0.1',
    ],
  });
}

/**
 * Waits for `locator` as `locator.waitFor()` does; when it does not come, the error says where the
 * browser is and what the page shows (and leaves a screenshot in test-artifacts/browser/failures),
 * so a failure in CI can be told apart from a slow page without running it again.
 */
export async function waitOrExplain(page: Page, locator: Locator, what: string): Promise<void> {
  try {
    await locator.waitFor();
  } catch (err) {
    const dir = path.resolve('test-artifacts', 'browser', 'failures');
    mkdirSync(dir, { recursive: true });
    const file = path.join(dir, `${Date.now()}-${what.replace(/[^\w-]+/g, '-')}.png`);
    await page.screenshot({ path: file, fullPage: true }).catch(() => undefined);
    const shown = await page
      .locator('body')
      .innerText({ timeout: 1_000 })
      .catch(() => '(no body)');
    throw new Error(
      `${what} did not come (${(err as Error).message.split('\n')[0]})\nat ${page.url()}\npage shows: ${shown.slice(0, 600)}\nscreenshot: ${file}`,
    );
  }
}

/** Saves a screenshot of every page a journey visits: test-artifacts/{journey}/{nn}-{name}.png */
export class Journey {
  private n = 0;
  readonly dir: string;
  constructor(
    readonly page: Page,
    readonly context: BrowserContext,
    name: string,
  ) {
    this.dir = path.resolve('test-artifacts', 'browser', name.replace(/[^\w-]+/g, '-'));
    mkdirSync(this.dir, { recursive: true });
  }

  async snap(name: string): Promise<string> {
    const file = path.join(this.dir, `${String(++this.n).padStart(2, '0')}-${name}.png`);
    await this.page.screenshot({ path: file, fullPage: true });
    return file;
  }
}

export async function newJourney(browser: Browser, w: LoginWorld, name: string, opts: { locale?: string; colorScheme?: 'light' | 'dark' } = {}) {
  const context = await browser.newContext({ locale: opts.locale ?? 'en-US', colorScheme: opts.colorScheme ?? 'light', viewport: { width: 480, height: 800 } });
  const page = await context.newPage();
  let callback: URL | undefined;
  // The relying party: a page that shows the callback it got.
  await context.route(`${new URL(w.rp.redirectUri).origin}/**`, async (route) => {
    callback = new URL(route.request().url());
    await route.fulfill({ status: 200, contentType: 'text/html', body: '<!doctype html><title>App</title><h1>Back at the application</h1>' });
  });
  // The redirect to the application, also when the page navigates there from script (a passkey
  // form submitted by views/assets/passkey.js), where the route above is not always consulted.
  page.on('request', (r) => {
    if (r.url().startsWith(w.rp.redirectUri)) callback = new URL(r.url());
  });
  const j = new Journey(page, context, name);
  // CSP violations and failed loads show up here: a journey can assert there were none.
  const consoleErrors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') consoleErrors.push(m.text());
  });
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  return Object.assign(j, {
    callback: () => callback,
    consoleErrors,
    async start(scope = 'openid', params: Record<string, string> = {}) {
      const url = client.buildAuthorizationUrl(w.config, {
        redirect_uri: w.rp.redirectUri,
        scope,
        state,
        code_challenge: await client.calculatePKCECodeChallenge(verifier),
        code_challenge_method: 'S256',
        ...params,
      });
      await page.goto(url.href);
    },
    /** The code exchange once the browser is back at the application: the ID token's claims. */
    async claims() {
      if (!callback) throw new Error(`not back at the application; at ${page.url()}`);
      const tokens = await client.authorizationCodeGrant(w.config, callback, { pkceCodeVerifier: verifier, expectedState: state });
      return tokens.claims()!;
    },
    close: () => context.close(),
  });
}
