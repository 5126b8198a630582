import type { Scope } from '../db/scope.js';
import type { Mailer, SendOptions } from '../mail/mailer.js';
import type { MailMessage } from '../mail/render.js';

/**
 * How a notification leaves, once the Notifier has decided to send it. A notification is plain
 * data (whom, which message, which options), so it can be stored and sent later.
 *
 * The app's delivery is the mail outbox (src/notify/outbox.ts): stored now, sent after the
 * request has answered, with retries. `directDelivery` sends at once through the instance's SMTP
 * server, for a caller that must report the outcome. Only the composition root (src/app.ts)
 * chooses.
 */
export type Notification =
  | { userId: string; message: MailMessage; options: SendOptions; sms?: undefined }
  /** an SMS instead of a mail: sent through the instance's SMS provider (src/notify/sms-webhook.ts) */
  | { userId: string; sms: SmsMessage; message?: undefined; options?: undefined };

export interface SmsMessage {
  recipient: string;
  text: string;
}

/** Sends one SMS through the instance's provider; throws when it was not taken (the outbox retries). */
export interface SmsSender {
  send(scope: Scope, sms: SmsMessage): Promise<void>;
}

export interface Delivery {
  deliver(scope: Scope, notification: Notification): Promise<void>;
}

/** Sends each notification now, through the instance's own SMTP server. */
export function directDelivery(mailer: Mailer): Delivery {
  return {
    async deliver(scope, n) {
      if (n.sms) throw new Error('an SMS leaves through the outbox, not directly');
      await mailer.sendToUser(scope, n.userId, n.message, n.options);
    },
  };
}
