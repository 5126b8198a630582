import path from 'node:path';
import ejs from 'ejs';
import { TEMPLATE_OPTIONS } from '../shared/templates.js';
import { paths } from '../shared/paths.js';
import { translator, type Locale } from '../ui/i18n.js';
import type { Branding } from '../ui/branding.js';

/**
 * Renders a mail as subject, plain text and HTML from views/mail/layout.{text,html}.ejs. Each
 * message is a list of blocks (paragraphs, an optional code and button) in the catalogue's
 * words, so every mail carries the same branding, privacy links and watermark rule.
 */
export type MailMessage =
  | { kind: 'verifyEmail'; code: string; link: string; expiresMin: number }
  | { kind: 'passwordReset'; code: string; link: string; expiresMin: number }
  | { kind: 'passwordChanged' }
  | { kind: 'emailChanged'; newEmail: string }
  | { kind: 'initialPassword'; code: string; link: string; expiresMin: number };

export interface MailContext {
  locale: Locale;
  branding: Branding;
  /** absolute origin for links to assets, e.g. https://auth.example.com */
  origin: string;
  recipientName: string;
  loginName: string;
}

export interface RenderedMail {
  subject: string;
  text: string;
  html: string;
}

const mailDir = path.join(paths.views, 'mail');

function blocks(m: MailMessage, t: ReturnType<typeof translator>, c: MailContext) {
  const codeExpiry = 'expiresMin' in m ? t('mail.codeExpires', { minutes: m.expiresMin }) : '';
  switch (m.kind) {
    case 'verifyEmail':
      return {
        paragraphs: [t('mail.verifyEmail.body')],
        code: m.code,
        button: { label: t('mail.verifyEmail.button'), hint: t('mail.verifyEmail.link'), url: m.link },
        after: [codeExpiry],
      };
    case 'passwordReset':
      return {
        paragraphs: [t('mail.passwordReset.body')],
        code: m.code,
        button: { label: t('mail.passwordReset.button'), hint: t('mail.passwordReset.link'), url: m.link },
        after: [codeExpiry, t('mail.passwordReset.ignore')],
      };
    case 'passwordChanged':
      return { paragraphs: [t('mail.passwordChanged.body', { loginName: c.loginName })], code: '', button: null, after: [t('mail.passwordChanged.notYou')] };
    case 'emailChanged':
      return {
        paragraphs: [t('mail.emailChanged.body', { loginName: c.loginName, email: m.newEmail })],
        code: '',
        button: null,
        after: [t('mail.emailChanged.notYou')],
      };
    case 'initialPassword':
      return {
        paragraphs: [t('mail.initialPassword.body', { loginName: c.loginName }), t('mail.initialPassword.code')],
        code: m.code,
        button: { label: t('mail.initialPassword.button'), hint: t('mail.verifyEmail.link'), url: m.link },
        after: [codeExpiry],
      };
  }
}

export async function renderMail(m: MailMessage, c: MailContext): Promise<RenderedMail> {
  const t = translator(c.locale);
  const { label, privacy, orgName, assets } = c.branding;
  const subject = t(`mail.${m.kind}.subject`);
  const font = label.fontFamily.replace(/[^\p{L}\p{N} _-]/gu, '').trim();
  const data = {
    t,
    locale: c.locale,
    subject,
    label,
    privacy,
    orgName,
    fontFamily: font ? `'${font}', Arial, sans-serif` : 'Arial, Helvetica, sans-serif',
    logoUrl: assets.logo_light ? `${c.origin}${assets.logo_light}` : '',
    greeting: t('mail.greeting', { name: c.recipientName }),
    signature: t('mail.signature', { org: orgName }),
    footer: t('mail.footer', { org: orgName }),
    ...blocks(m, t, c),
  };
  const [text, html] = await Promise.all([
    ejs.renderFile(path.join(mailDir, 'layout.text.ejs'), data, TEMPLATE_OPTIONS),
    ejs.renderFile(path.join(mailDir, 'layout.html.ejs'), data, TEMPLATE_OPTIONS),
  ]);
  return { subject, text, html };
}
