import { SMTPServer } from 'smtp-server';
import type { AddressInfo } from 'node:net';

/** A real SMTP server in the test process that keeps what it receives, decoded enough to read. */
export interface CaughtMail {
  from: string;
  to: string[];
  subject: string;
  text: string;
  html: string;
  raw: string;
}

export class MailCatcher {
  readonly mails: CaughtMail[] = [];
  private waiters: (() => void)[] = [];
  private server: SMTPServer;
  private held: (() => void)[] | undefined;
  /** connections that reached the server and wait for its greeting while held */
  heldConnections = 0;
  private refusals: { left: number; code: number } = { left: 0, code: 451 };
  port = 0;

  /** With `auth`, the server takes only these credentials (over plain SMTP, as a test relay may). */
  constructor(auth?: { user: string; pass: string }) {
    this.server = new SMTPServer({
      authOptional: !auth,
      ...(auth
        ? {
            allowInsecureAuth: true,
            onAuth: (a, _session, callback) =>
              a.username === auth.user && a.password === auth.pass
                ? callback(null, { user: a.username })
                : callback(Object.assign(new Error('Invalid username or password'), { responseCode: 535 })),
          }
        : {}),
      disabledCommands: ['STARTTLS'],
      logger: false,
      // While held, a connection gets no greeting: the client waits, as on a hung mail server.
      onConnect: (_session, callback) => {
        if (!this.held) return callback();
        this.heldConnections++;
        this.held.push(() => callback());
      },
      onData: (stream, session, callback) => {
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('end', () => {
          if (this.refusals.left > 0) {
            this.refusals.left--;
            return callback(Object.assign(new Error('refused by the test'), { responseCode: this.refusals.code }));
          }
          const raw = Buffer.concat(chunks).toString('utf8');
          this.mails.push({
            ...parseMail(raw),
            from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
            to: session.envelope.rcptTo.map((r) => r.address),
            raw,
          });
          this.waiters.splice(0).forEach((w) => w());
          callback();
        });
      },
    });
  }

  /** The next `count` mails are refused with `code` (451: try again later; 550: never). Infinity: all of them. */
  refuse(count: number, code = 451): void {
    this.refusals = { left: count, code };
  }

  /** From now on, connections hang before the greeting until release(). */
  hold(): void {
    this.held ??= [];
  }

  release(): void {
    const held = this.held ?? [];
    this.held = undefined;
    held.forEach((go) => go());
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', () => resolve()));
    this.port = (this.server.server.address() as AddressInfo).port;
    return this;
  }

  /** The first mail to `to` (matching `pred`), waiting for it up to timeoutMs. */
  async waitFor(to: string, pred: (m: CaughtMail) => boolean = () => true, timeoutMs = 10_000): Promise<CaughtMail> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const hit = this.mails.find((m) => m.to.includes(to) && pred(m));
      if (hit) return hit;
      if (Date.now() > deadline) throw new Error(`no mail to ${to} within ${timeoutMs} ms (got ${this.mails.length})`);
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 200);
      });
    }
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

function decodeWords(s: string): string {
  return s.replace(/=\?([^?]+)\?([QqBb])\?([^?]*)\?=\s*/g, (_m, _cs, enc: string, body: string) =>
    enc.toUpperCase() === 'B' ? Buffer.from(body, 'base64').toString('utf8') : decodeQp(body.replace(/_/g, ' ')),
  );
}

function decodeQp(s: string): string {
  const bytes = s.replace(/=\r?\n/g, '').replace(/=([0-9A-Fa-f]{2})/g, (_m, h: string) => String.fromCharCode(parseInt(h, 16)));
  return Buffer.from(bytes, 'latin1').toString('utf8');
}

function splitPart(part: string): { headers: Record<string, string>; body: string } {
  const idx = part.search(/\r?\n\r?\n/);
  const head = idx < 0 ? part : part.slice(0, idx);
  const body = idx < 0 ? '' : part.slice(idx).replace(/^\r?\n\r?\n/, '');
  const headers: Record<string, string> = {};
  for (const line of head.replace(/\r?\n[ \t]+/g, ' ').split(/\r?\n/)) {
    const c = line.indexOf(':');
    if (c > 0) headers[line.slice(0, c).toLowerCase()] = line.slice(c + 1).trim();
  }
  return { headers, body };
}

function decodeBody(headers: Record<string, string>, body: string): string {
  const enc = (headers['content-transfer-encoding'] ?? '').toLowerCase();
  if (enc === 'base64') return Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8');
  if (enc === 'quoted-printable') return decodeQp(body);
  return body;
}

function parseMail(raw: string): Omit<CaughtMail, 'from' | 'to' | 'raw'> {
  const top = splitPart(raw);
  const out = { subject: decodeWords(top.headers.subject ?? ''), text: '', html: '' };
  const walk = (headers: Record<string, string>, body: string) => {
    const type = headers['content-type'] ?? 'text/plain';
    const boundary = /boundary="?([^";]+)"?/i.exec(type)?.[1];
    if (boundary) {
      for (const p of body.split(`--${boundary}`).slice(1)) {
        if (p.startsWith('--')) break;
        const sub = splitPart(p.replace(/^\r?\n/, ''));
        walk(sub.headers, sub.body);
      }
    } else if (type.startsWith('text/html')) out.html = decodeBody(headers, body);
    else if (type.startsWith('text/plain')) out.text = decodeBody(headers, body);
  };
  walk(top.headers, top.body);
  return out;
}
