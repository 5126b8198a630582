import type { Runtime } from '../../src/runtime/index.js';
import type { Notifier } from '../../src/notify/notifier.js';
import { setSmtpSettings } from '../../src/domain/instance/settings.js';
import { systemPrincipal } from '../../src/domain/principal.js';
import type { ServiceContext } from '../../src/domain/deps.js';
import { testInstance, testRuntime, type TestInstance } from '../support/runtime.js';
import { addApp, addProject, Browser, client, discover, formsOf, type AppFixture, type HttpResponse, type RpClient, serveApp } from '../support/rp.js';
import { MailCatcher } from '../browser/mail-catcher.js';

/** A running Tessera with one instance, an app, and an SMTP catcher wired as the instance's server. */
export interface LoginWorld {
  rt: Runtime;
  server: { port: number; close: () => Promise<void> };
  /** the app's notifier (src/notify), for mails a test sends as the API would */
  notifier: Notifier;
  inst: TestInstance;
  app: AppFixture;
  rp: RpClient;
  config: client.Configuration;
  smtp: MailCatcher;
  issuer: string;
  sys: () => ServiceContext;
  close(): Promise<void>;
}

/** `tld: 'localhost'` for pages that need a secure context in the browser (passkeys). */
export async function loginWorld(name: string, rtOverrides: Record<string, unknown> = {}, opts: { tld?: 'test' | 'localhost' } = {}): Promise<LoginWorld> {
  const rt = await testRuntime(rtOverrides);
  const server = await serveApp(rt);
  const { notifier } = server.app;
  const inst = await testInstance(rt, name, opts);
  const project = await addProject(inst.scope, inst.orgId);
  const app = await addApp(rt, inst.scope, project.projectId);
  const issuer = `http://${inst.domain}:${server.port}`;
  const rp = { issuer, clientId: app.clientId, clientSecret: app.clientSecret, redirectUri: app.redirectUri };
  const config = await discover(rp);
  const smtp = await new MailCatcher().start();
  const sys = (): ServiceContext => ({ deps: rt.deps, scope: inst.scope, actor: systemPrincipal });
  await setSmtpSettings(sys(), { host: '127.0.0.1', port: smtp.port, tls: false, fromAddress: `noreply@${inst.domain}`, fromName: name });
  return {
    rt,
    server,
    notifier,
    inst,
    app,
    rp,
    config,
    smtp,
    issuer,
    sys,
    // The app first: its pooled SMTP connections hang up, so the catcher need not wait for them.
    async close() {
      await server.close();
      await smtp.close();
      await rt.close();
    },
  };
}

/** A login in progress: the page it is on, and ways to submit its forms. */
export class LoginSession {
  page!: HttpResponse;
  callback?: URL;
  codeVerifier = client.randomPKCECodeVerifier();
  state = client.randomState();

  /** Pass the browser of an earlier session to keep its cookies (single sign-on, remembered accounts). */
  constructor(
    private readonly w: LoginWorld,
    readonly browser = new Browser(),
  ) {}

  async start(params: Record<string, string> = {}, scope = 'openid'): Promise<this> {
    const url = client.buildAuthorizationUrl(this.w.config, {
      redirect_uri: this.w.rp.redirectUri,
      scope,
      state: this.state,
      code_challenge: await client.calculatePKCECodeChallenge(this.codeVerifier),
      code_challenge_method: 'S256',
      ...params,
    });
    return this.go(url);
  }

  private async go(url: URL, form?: Record<string, string>): Promise<this> {
    const r = await this.browser.navigate(url, form ? { form } : {}, this.w.rp.redirectUri);
    if ('redirectedTo' in r) this.callback = r.redirectedTo;
    else this.page = r;
    return this;
  }

  /** Submits the page's form whose action ends with `actionSuffix`, with these fields over its own. */
  async submit(actionSuffix: string, fields: Record<string, string> = {}): Promise<this> {
    const form = formsOf(this.page).find((f) => f.action.pathname.endsWith(actionSuffix));
    if (!form) throw new Error(`no form ${actionSuffix} on the page (${this.page.status}): ${this.page.body.slice(0, 800)}`);
    return this.go(form.action, { ...form.fields, ...fields });
  }

  /** Submits the page's first form (e.g. an upstream IdP's own login page). */
  async submitFirst(fields: Record<string, string> = {}): Promise<this> {
    const form = formsOf(this.page).find((f) => f.method.toLowerCase() === 'post');
    if (!form) throw new Error(`no form on the page (${this.page.status}): ${this.page.body.slice(0, 800)}`);
    return this.go(form.action, { ...form.fields, ...fields });
  }

  async get(path: string): Promise<this> {
    return this.go(new URL(path, this.page.url));
  }

  async password(loginName: string, password: string): Promise<this> {
    await this.submit('/loginname', { loginName });
    return this.submit('/password', { password });
  }

  /** The code exchange; the ID token's claims. */
  async tokens() {
    if (!this.callback) throw new Error(`no callback; page ${this.page?.status}: ${this.page?.body.slice(0, 800)}`);
    const tokens = await client.authorizationCodeGrant(this.w.config, this.callback, { pkceCodeVerifier: this.codeVerifier, expectedState: this.state });
    return tokens.claims()!;
  }
}

export { testInstance };
