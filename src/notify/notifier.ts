import type { Scope } from '../db/scope.js';
import type { ServiceContext, ServiceDeps } from '../domain/deps.js';
import { getEffectivePolicy } from '../domain/policy/service.js';
import { systemPrincipal } from '../domain/principal.js';
import { codeIssuedWithin, issueUserCode } from '../domain/user/codes.js';
import { userById, type UserRow } from '../domain/sign-in.js';
import { DomainError } from '../shared/errors.js';
import type { SendOptions } from '../mail/mailer.js';
import type { Delivery } from './delivery.js';
import { pickLocale, translator } from '../ui/i18n.js';

/**
 * What mail a user gets and when: the initial password of a user an admin created, email
 * verification, password reset, and the password-changed and email-changed notices. The API and the login call these
 * after their change; the Notifier applies the rules (the notification policy, a resend window,
 * whether there is anyone to write to), issues the one-time code, and hands the message to the
 * Delivery (src/notify/delivery.ts).
 */

/** Lifetimes of the mailed codes, in minutes. */
export const VERIFY_TTL_MIN = 60;
export const RESET_TTL_MIN = 15;
export const INITIAL_TTL_MIN = 3 * 24 * 60;
/** A code of the same kind is not mailed again within this many seconds (a form must not flood an inbox). */
export const RESEND_AFTER_S = 60;

/** Where the links in the mails lead (the login's pages that take the code). */
export const mailLinkPaths = {
  verifyEmail: '/ui/login/verify-email',
  initialPassword: '/ui/login/init',
  passwordReset: '/ui/login/password-reset',
  confirmNewEmail: '/ui/account/email',
} as const;

/** A mail that follows a page: the origin the page was served on, its branding and language. */
export type PageContext = Required<Pick<SendOptions, 'origin'>> & Pick<SendOptions, 'brandingOrgId' | 'locale'>;

const link = (origin: string, path: string, userId: string, code: string) => `${origin}${path}?user=${userId}&code=${code}`;

export class Notifier {
  /**
   * `delivery` for mail that follows a page (the outbox: after the response, with retries);
   * `immediate` for mail an admin action sends, whose outcome the admin is told (default: delivery).
   */
  constructor(
    private readonly delivery: Delivery,
    private readonly deps: ServiceDeps,
    private readonly immediate: Delivery = delivery,
  ) {}

  private sys(scope: Scope): ServiceContext {
    return { deps: this.deps, scope, actor: systemPrincipal };
  }

  /**
   * A user an admin created without a password (state initial): a code and a link to set one.
   * Sent at once (the admin waits and is told): a mail that did not go out throws a DomainError
   * (reason mail.smtp_not_configured, mail.no_recipient or mail.send_failed); it is not retried.
   */
  async initialPassword(scope: Scope, userId: string, origin: string): Promise<void> {
    const user = await userById(scope, userId);
    if (!user?.email) throw new DomainError('rule_violation', 'the user has no email address', 'mail.no_recipient');
    const code = await issueUserCode(this.sys(scope), user, 'initial_password', { ttlMin: INITIAL_TTL_MIN });
    try {
      await this.immediate.deliver(scope, {
        userId: user.id,
        message: { kind: 'initialPassword', code, link: link(origin, mailLinkPaths.initialPassword, user.id, code), expiresMin: INITIAL_TTL_MIN },
        options: { origin },
      });
    } catch (err) {
      const reason = err instanceof DomainError && err.reason?.startsWith('mail.') ? err.reason : 'mail.send_failed';
      throw new DomainError('rule_violation', `the invitation could not be sent: ${(err as Error).message}`, reason);
    }
  }

  /** The password changed: a notice, where the notification policy of the user's org asks for one. */
  async passwordChanged(scope: Scope, userId: string, origin?: string): Promise<void> {
    const user = await userById(scope, userId);
    if (!user?.email) return;
    if (!(await getEffectivePolicy(scope, 'notification', user.org_id)).passwordChange) return;
    await this.delivery.deliver(scope, { userId: user.id, message: { kind: 'passwordChanged' }, options: { origin } });
  }

  /**
   * A code and a link to verify the user's address, unless one went out in the last minute (it is
   * still good: signing in again must not flood the inbox).
   */
  async emailVerification(scope: Scope, user: UserRow, page: PageContext): Promise<void> {
    if (!user.email || (await codeIssuedWithin({ scope }, user.id, 'email_verification', RESEND_AFTER_S))) return;
    const code = await issueUserCode(this.sys(scope), user, 'email_verification', { ttlMin: VERIFY_TTL_MIN, email: user.email });
    await this.delivery.deliver(scope, {
      userId: user.id,
      message: { kind: 'verifyEmail', code, link: link(page.origin, mailLinkPaths.verifyEmail, user.id, code), expiresMin: VERIFY_TTL_MIN },
      options: page,
    });
  }

  /**
   * The code that confirms a new address (the user's email change, src/domain/user/email-change.ts),
   * to that address, with a link to the account page that takes it.
   */
  async newEmailCode(scope: Scope, userId: string, change: { email: string; code: string; expiresMin: number }, page: PageContext): Promise<void> {
    await this.delivery.deliver(scope, {
      userId,
      message: {
        kind: 'verifyEmail',
        code: change.code,
        link: `${page.origin}${mailLinkPaths.confirmNewEmail}?code=${change.code}`,
        expiresMin: change.expiresMin,
      },
      options: { ...page, to: change.email },
    });
  }

  /**
   * The email address changed (confirmed on the account page): a notice to the old address, which
   * names the new one, so someone who took over the session and changed the address does not go
   * unnoticed. Always sent: the notification policy has no switch for it (only passwordChange),
   * and most IdPs send it unconditionally.
   */
  async emailChanged(scope: Scope, userId: string, change: { previousEmail: string | null; email: string }, page: PageContext): Promise<void> {
    if (!change.previousEmail || change.previousEmail.toLowerCase() === change.email.toLowerCase()) return;
    await this.delivery.deliver(scope, { userId, message: { kind: 'emailChanged', newEmail: change.email }, options: { ...page, to: change.previousEmail } });
  }

  /**
   * The code that verifies the user's phone number (src/domain/user/phone-verification.ts), by SMS
   * through the outbox (retried like mail), in the page's language.
   */
  async phoneCode(scope: Scope, userId: string, sent: { phone: string; code: string; expiresMin: number }, locale?: string): Promise<void> {
    const text = translator(pickLocale({ uiLocales: locale }))('mail.sms.phoneCode', { code: sent.code, minutes: sent.expiresMin });
    await this.delivery.deliver(scope, { userId, sms: { recipient: sent.phone, text } });
  }

  /**
   * A password reset code, for a user with an address who is not deactivated, at most one a minute.
   * Whoever asked sees the same page either way (no account enumeration): nothing here says which.
   */
  async passwordReset(scope: Scope, user: UserRow, page: PageContext): Promise<void> {
    if (!user.email || user.state === 'inactive') return;
    // Checked and issued under one lock: the login answers before the mail is made, so a burst of
    // requests could otherwise each find no recent code and each send one.
    const code = await scope.transaction(async (trx) => {
      await trx.lock(`password-reset:${user.id}`);
      if (await codeIssuedWithin({ scope: trx }, user.id, 'password_reset', RESEND_AFTER_S)) return undefined;
      return issueUserCode(this.sys(trx), user, 'password_reset', { ttlMin: RESET_TTL_MIN });
    });
    if (!code) return;
    await this.delivery.deliver(scope, {
      userId: user.id,
      message: { kind: 'passwordReset', code, link: link(page.origin, mailLinkPaths.passwordReset, user.id, code), expiresMin: RESET_TTL_MIN },
      options: page,
    });
  }
}
