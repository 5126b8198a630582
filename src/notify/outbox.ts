import type { Knex } from 'knex';
import type { Logger } from 'pino';
import { Scope } from '../db/scope.js';
import type { Mailer } from '../mail/mailer.js';
import type { SecretBox } from '../shared/crypto.js';
import { newId } from '../shared/ids.js';
import type { Delivery, Notification, SmsSender } from './delivery.js';
import { claimDueOutboxRows, deleteOutboxRow, insertOutboxRow, markOutboxRowFailed, retryOutboxRowLater, type OutboxRow } from './outbox-repository.js';

/**
 * The mail outbox: a notification is stored (mail_outbox, its payload sealed under the master
 * key: it holds one-time codes) and sent after the request that caused it has answered, so a
 * page never waits on SMTP, and never answers faster for an account that gets no mail.
 *
 * Every Tessera process (and the embedded server) runs one sender. A sender claims due rows with
 * FOR UPDATE SKIP LOCKED and leases them (next_attempt_at moves past the lease) in one short
 * transaction, then sends outside it: two senders never take the same row, and a row whose
 * sender died is taken again once its lease ends. A sent row is deleted; a failed one is retried
 * after the next delay in `retryDelaysS`, and kept with its last error once those are used up.
 */
export interface OutboxOptions {
  /** how often a sender looks for due rows besides being woken by its own process (rows of other processes, retries) */
  pollMs?: number;
  /** the waits before the 2nd, 3rd… attempt; after the last, the row is marked failed */
  retryDelaysS?: number[];
  /** how long a claimed row is left to its sender before another may take it */
  leaseS?: number;
  /** rows claimed at once */
  batch?: number;
}

const DEFAULTS: Required<OutboxOptions> = { pollMs: 5000, retryDelaysS: [10, 60, 300, 1800, 3600], leaseS: 300, batch: 20 };

export class MailOutbox implements Delivery {
  private readonly opts: Required<OutboxOptions>;
  private running?: Promise<void>;
  private closed = false;
  private wake?: () => void;
  private woken = false;

  constructor(
    private readonly knex: Knex,
    private readonly mailer: Mailer,
    private readonly box: SecretBox,
    private readonly log: Logger,
    opts: OutboxOptions = {},
    /** SMS (phone codes) leave through the same outbox, with the same retries */
    private readonly sms?: SmsSender,
  ) {
    this.opts = { ...DEFAULTS, ...opts };
  }

  /** Stores the notification for the sender; the caller's request does not wait for SMTP. */
  async deliver(scope: Scope, n: Notification): Promise<void> {
    await insertOutboxRow(scope, {
      id: newId(),
      user_id: n.userId,
      payload: this.box.encrypt(JSON.stringify({ message: n.message, options: n.options, sms: n.sms })),
    });
    this.poke();
  }

  /** Starts this process's sender (idempotent). */
  start(): this {
    this.running ??= this.loop();
    return this;
  }

  /** Wakes the sender now (a row was stored in this process). */
  poke(): void {
    this.woken = true;
    this.wake?.();
  }

  /** Stops the sender after the batch in hand. */
  async close(): Promise<void> {
    this.closed = true;
    this.poke();
    await this.running;
  }

  /** Claims and sends due rows until none is left; how many were attempted. */
  async sendDue(): Promise<number> {
    let total = 0;
    for (;;) {
      const rows = await this.claim();
      if (!rows.length) return total;
      total += rows.length;
      for (const row of rows) await this.send(row);
    }
  }

  private async loop(): Promise<void> {
    while (!this.closed) {
      this.woken = false;
      try {
        await this.sendDue();
      } catch (err) {
        this.log.error({ err }, 'mail outbox: claiming failed');
      }
      if (this.closed || this.woken) continue;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, this.opts.pollMs);
        timer.unref();
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wake = undefined;
    }
  }

  /** The claim is installation-wide (the sender serves every instance); each row is then sent under its own instance's Scope. */
  private claim(): Promise<OutboxRow[]> {
    return claimDueOutboxRows(this.knex, this.opts.leaseS, this.opts.batch);
  }

  private async send(row: OutboxRow): Promise<void> {
    const scope = new Scope(this.knex, row.instance_id);
    try {
      const n = { userId: row.user_id, ...JSON.parse(this.box.decrypt(row.payload)) } as Notification;
      if (n.sms) {
        if (!this.sms) throw new Error('no SMS sender in this process');
        await this.sms.send(scope, n.sms);
      } else await this.mailer.sendToUser(scope, row.user_id, n.message, n.options);
      await deleteOutboxRow(scope, row.id);
    } catch (err) {
      const delay = this.opts.retryDelaysS[row.attempts - 1];
      const error = (err as Error).message ?? String(err);
      this.log.warn({ err, instanceId: row.instance_id, outboxId: row.id, attempt: row.attempts, retry: delay !== undefined }, 'mail outbox: sending failed');
      await (delay === undefined ? markOutboxRowFailed(scope, row.id, error) : retryOutboxRowLater(scope, row.id, error, delay));
    }
  }
}
