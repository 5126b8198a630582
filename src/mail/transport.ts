import nodemailer, { type SendMailOptions, type Transporter } from 'nodemailer';
import type { Knex } from 'knex';
import { Scope } from '../db/scope.js';
import { getSmtpSettings, type SmtpSettings } from '../domain/instance/settings.js';
import { ALL_INSTANCES, type ChangeBus } from '../shared/changes.js';
import type { SecretBox } from '../shared/crypto.js';
import type { Outbound } from '../shared/outbound.js';
import type { Socket } from 'node:net';

/**
 * An instance's pooled SMTP transport. A change notice retires it: no new mail goes through it,
 * and its connections close once the mails already handed to it are sent, so a notice arriving
 * mid-send (in any process) never fails a mail that was on its way.
 */
export class InstanceTransport {
  private inFlight = 0;
  private retired = false;

  constructor(
    private readonly transporter: Transporter,
    readonly from: { name: string; address: string },
  ) {}

  async send(mail: SendMailOptions): Promise<{ messageId: string }> {
    this.inFlight += 1;
    try {
      return await this.transporter.sendMail(mail);
    } finally {
      this.inFlight -= 1;
      if (this.retired && this.inFlight === 0) this.transporter.close();
    }
  }

  retire(): void {
    this.retired = true;
    if (this.inFlight === 0) this.transporter.close();
  }
}

/**
 * The one reading of an instance's SMTP settings, for account mails and the test mail alike, so
 * a passing test mail means real mail goes out the same way: `tls` on port 465 is implicit TLS;
 * `tls` on any other port requires STARTTLS (a server without it is refused, never silently used
 * in plain text); `tls` off is plain SMTP, as configured (e.g. a local relay). The connection is
 * opened through `outbound`, which refuses the server's own networks (src/shared/outbound.ts).
 */
export function createSmtpTransport(
  s: Pick<SmtpSettings, 'host' | 'port' | 'tls' | 'user' | 'password'>,
  outbound: Outbound,
  opts: { pool?: boolean } = {},
): Transporter {
  const implicitTls = s.tls && s.port === 465;
  const timeouts = { connectionTimeout: 10_000, greetingTimeout: 10_000, socketTimeout: 30_000 };
  const base = {
    host: s.host,
    port: s.port,
    secure: implicitTls,
    requireTLS: s.tls && !implicitTls,
    ignoreTLS: !s.tls,
    auth: s.user ? { user: s.user, pass: s.password ?? '' } : undefined,
    // nodemailer upgrades the socket to TLS itself (implicit TLS or STARTTLS), checking the certificate against `host`.
    getSocket: (_options: unknown, callback: (err: Error | null, socket?: { connection: Socket }) => void) => {
      outbound.connect(s.host, s.port, timeouts.connectionTimeout).then(
        (connection) => callback(null, { connection }),
        (err: Error) => callback(err),
      );
    },
    ...timeouts,
  };
  return opts.pool ? nodemailer.createTransport({ ...base, pool: true, maxConnections: 2 }) : nodemailer.createTransport(base);
}

/** The admin's test mail (Admin API and console): sent as account mails are; the SMTP server's own refusal is thrown as is. */
export async function sendTestMail(smtp: SmtpSettings, to: string, outbound: Outbound): Promise<{ messageId: string; response: string }> {
  const transport = createSmtpTransport(smtp, outbound);
  try {
    const info = await transport.sendMail({
      from: { name: smtp.fromName || 'Tessera', address: smtp.fromAddress },
      to,
      subject: 'Tessera SMTP test',
      text: 'This is a test mail from your Tessera instance. The SMTP settings work.',
    });
    return { messageId: info.messageId, response: String(info.response ?? '') };
  } finally {
    transport.close();
  }
}

/**
 * One nodemailer transport per instance, built from that instance's SMTP settings: each
 * customer's mail leaves through its own server. Transports are cached and dropped on any
 * change notice for the instance, so new settings apply on the next mail in every process.
 */
export class MailTransports {
  private readonly cache = new Map<string, Promise<InstanceTransport | undefined>>();

  constructor(
    private readonly knex: Knex,
    private readonly box: SecretBox,
    changes: ChangeBus,
    private readonly outbound: Outbound,
  ) {
    changes.subscribe((instanceId) => (instanceId === ALL_INSTANCES ? this.close() : this.drop(instanceId)));
  }

  /** The instance's transport, or undefined when it has no SMTP settings. */
  forInstance(instanceId: string): Promise<InstanceTransport | undefined> {
    let hit = this.cache.get(instanceId);
    if (!hit) {
      hit = this.build(instanceId);
      this.cache.set(instanceId, hit);
      hit.catch(() => this.cache.delete(instanceId));
    }
    return hit;
  }

  private async build(instanceId: string): Promise<InstanceTransport | undefined> {
    const s = await getSmtpSettings(new Scope(this.knex, instanceId), this.box);
    if (!s) return undefined;
    return new InstanceTransport(createSmtpTransport(s, this.outbound, { pool: true }), { name: s.fromName, address: s.fromAddress });
  }

  drop(instanceId: string): void {
    const hit = this.cache.get(instanceId);
    this.cache.delete(instanceId);
    hit?.then((t) => t?.retire()).catch(() => undefined);
  }

  close(): void {
    for (const id of [...this.cache.keys()]) this.drop(id);
  }
}
