import type { Scope } from '../db/scope.js';
import type { Mailer, SendOptions } from '../mail/mailer.js';
import type { MailMessage } from '../mail/render.js';

/**
 * How a notification leaves, once the Notifier has decided to send it. A notification is plain
 * data (whom, which message, which options), so it can be stored and sent later.
 *
 * Today's delivery sends at once through the instance's SMTP server (`directDelivery`); callers
 * run it after their change committed and log a failure (the API's afterCommit, the login's pages).
 * A mail outbox is another Delivery: `deliver` inserts the notification into an outbox table (in
 * the caller's transaction), and a sender reads the table and calls `mailer.sendToUser` for each
 * row, with retries. Only the composition root (src/app.ts) chooses which one runs.
 */
export interface Notification {
  userId: string;
  message: MailMessage;
  options: SendOptions;
}

export interface Delivery {
  deliver(scope: Scope, notification: Notification): Promise<void>;
}

/** Sends each notification now, through the instance's own SMTP server. */
export function directDelivery(mailer: Mailer): Delivery {
  return {
    async deliver(scope, n) {
      await mailer.sendToUser(scope, n.userId, n.message, n.options);
    },
  };
}
