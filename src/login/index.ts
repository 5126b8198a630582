import type { Middleware } from 'koa';
import type { LoginServices } from './interaction.js';
import { LOGIN_PREFIX, loginRoutes } from './routes.js';

/**
 * The login module as the composition root (src/app.ts) sees it: its pages under /ui/login, and
 * what it hands the provider (provider-hooks.ts). Inside, one module per step of the flow:
 * login-name, password (+ password-check, throttle), mfa, account-chooser, registration,
 * email-verification, password-reset, idp, consent, finish; org-context decides which org's
 * rules apply, look renders pages in that org's branding (src/ui).
 */
export { loginInteractions } from './provider-hooks.js';
export { LoginThrottle } from './throttle.js';
export type { LoginServices } from './interaction.js';

export function loginPages(services: LoginServices): { name: string; prefixes: string[]; routes: Middleware } {
  return { name: 'login', prefixes: [LOGIN_PREFIX], routes: loginRoutes(services).routes() as Middleware };
}
