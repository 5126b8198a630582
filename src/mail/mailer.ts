import type { Scope } from '../db/scope.js';
import { primaryInstanceDomain } from '../domain/instance/repository.js';
import { getUser, type UserRow } from '../domain/user/repository.js';
import { preferredLoginName } from '../domain/user/login-name-repository.js';
import { DomainError } from '../shared/errors.js';
import { loadBranding } from '../ui/branding.js';
import { pickLocale } from '../ui/i18n.js';
import { renderMail, type MailMessage } from './render.js';
import type { MailTransports } from './transport.js';
import type { Metrics } from '../shared/metrics.js';

export interface SendOptions {
  /** the origin links and the logo point at; default https://{primary instance domain} */
  origin?: string;
  /** whose branding to use; default the user's own org */
  brandingOrgId?: string | null;
  /** another address than the user's (a new, unverified one) */
  to?: string;
  /** the page's locale, when the mail follows a page (registration); default the user's preferred language */
  locale?: string;
}

export interface SentMail {
  messageId: string;
  to: string;
  subject: string;
}

/**
 * Renders and sends one mail to a user, through the SMTP server of the user's instance, in the
 * user's language, with the branding of their org (or of the org the login ran under). Which
 * mail to send, and when, is src/notify's business.
 */
export class Mailer {
  constructor(
    private readonly transports: MailTransports,
    private readonly metrics?: Metrics,
  ) {}

  async send(
    scope: Scope,
    user: Pick<UserRow, 'org_id' | 'username' | 'email' | 'display_name' | 'given_name' | 'preferred_language'>,
    message: MailMessage,
    opts: SendOptions = {},
  ): Promise<SentMail> {
    const transport = await this.transports.forInstance(scope.instanceId);
    if (!transport) throw new DomainError('precondition_failed', 'the instance has no SMTP settings', 'mail.smtp_not_configured');
    const to = opts.to ?? user.email;
    if (!to) throw new DomainError('precondition_failed', 'the user has no email address', 'mail.no_recipient');
    const branding = await loadBranding(scope, opts.brandingOrgId === undefined ? user.org_id : opts.brandingOrgId);
    const origin = opts.origin ?? `https://${await primaryInstanceDomain(scope)}`;
    const rendered = await renderMail(message, {
      locale: pickLocale({ uiLocales: opts.locale, preferred: user.preferred_language }),
      branding,
      origin,
      recipientName: user.given_name || user.display_name || user.username,
      loginName: await preferredLoginName(scope, user),
    });
    let info: { messageId: string };
    try {
      // Taken again now: a settings change while the mail was rendered retires the first one.
      const current = (await this.transports.forInstance(scope.instanceId)) ?? transport;
      info = await current.send({
        from: { name: current.from.name || branding.orgName, address: current.from.address },
        to,
        subject: rendered.subject,
        text: rendered.text,
        html: rendered.html,
      });
    } catch (err) {
      this.metrics?.mail('failed');
      throw err;
    }
    this.metrics?.mail('sent');
    return { messageId: info.messageId, to, subject: rendered.subject };
  }

  /** `send` to the user with this id (a stored notification names its user by id). */
  async sendToUser(scope: Scope, userId: string, message: MailMessage, opts: SendOptions = {}): Promise<SentMail> {
    const user = await getUser(scope, userId);
    if (!user) throw new DomainError('not_found', `user ${userId} is gone`, 'mail.no_recipient');
    return this.send(scope, user, message, opts);
  }
}
