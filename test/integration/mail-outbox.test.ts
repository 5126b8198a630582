import pino from 'pino';
import { testRuntime, testInstance, type TestInstance } from '../support/runtime.js';
import { MailCatcher } from '../browser/mail-catcher.js';
import { eventually } from '../support/eventually.js';
import type { Runtime } from '../../src/runtime/index.js';
import { systemPrincipal } from '../../src/domain/principal.js';
import { setSmtpSettings } from '../../src/domain/instance/settings.js';
import { MailTransports } from '../../src/mail/transport.js';
import { Mailer } from '../../src/mail/mailer.js';
import { MailOutbox, type OutboxOptions } from '../../src/notify/outbox.js';
import { addHuman } from '../support/rp.js';
import { newId } from '../../src/shared/ids.js';

/**
 * The mail outbox (src/notify/outbox.ts) against a real SMTP server: each stored mail goes out
 * once however many processes send, a refused one is retried, and one refused for good is kept
 * as failed with its error.
 */
let rtA: Runtime;
let rtB: Runtime;
let inst: TestInstance;
let smtp: MailCatcher;
const open: { outbox: MailOutbox; transports: MailTransports }[] = [];

beforeAll(async () => {
  [rtA, rtB] = await Promise.all([testRuntime(), testRuntime()]);
  inst = await testInstance(rtA, 'Outbox');
  smtp = await new MailCatcher().start();
  await setSmtpSettings(
    { deps: rtA.deps, scope: inst.scope, actor: systemPrincipal },
    { host: '127.0.0.1', port: smtp.port, tls: false, fromAddress: 'noreply@outbox.example', fromName: 'Outbox' },
  );
});
afterAll(async () => {
  for (const o of open) {
    await o.outbox.close();
    o.transports.close();
  }
  await smtp.close();
  await Promise.all([rtA.close(), rtB.close()]);
});

/** A sender as a process runs it, on that runtime's own database connections. */
function sender(rt: Runtime, opts: OutboxOptions = {}): MailOutbox {
  const transports = new MailTransports(rt.db.knex, rt.deps.box, rt.deps.changes, rt.deps.outbound);
  const outbox = new MailOutbox(rt.db.knex, new Mailer(transports), rt.deps.box, pino({ level: 'silent' }), { pollMs: 50, ...opts });
  open.push({ outbox, transports });
  return outbox;
}

async function recipient(): Promise<{ userId: string; email: string }> {
  const email = `o${newId()}@mail.example`;
  const u = await addHuman(rtA, inst.scope, inst.orgId, { email });
  return { userId: u.userId, email };
}

const rowsOf = (userId: string) => inst.scope.table('mail_outbox').where({ user_id: userId }).select('attempts', 'failed_at', 'last_error');

test('each stored mail goes out exactly once, with senders in two runtimes claiming at once', async () => {
  const a = sender(rtA, { batch: 1 });
  const b = sender(rtB, { batch: 1 });
  const users = await Promise.all(Array.from({ length: 12 }, recipient));
  for (const u of users) await a.deliver(inst.scope, { userId: u.userId, message: { kind: 'passwordChanged' }, options: {} });
  a.start();
  b.start();
  const got = await eventually(
    async () => smtp.mails.filter((m) => users.some((u) => m.to.includes(u.email))).length,
    (n) => n >= users.length,
    20_000,
  );
  expect(got).toBe(users.length);
  // Nothing of ours left to send, by either, and nothing sent twice. (A sender claims due rows of
  // every instance, so test files running beside this one may give it rows of their own: the
  // check is on this test's recipients, not on how many rows a sender found.)
  await a.sendDue();
  await b.sendDue();
  for (const u of users) {
    expect(smtp.mails.filter((m) => m.to.includes(u.email))).toHaveLength(1);
    expect(await rowsOf(u.userId)).toEqual([]);
  }
  await Promise.all([a.close(), b.close()]);
});

test('a mail the server refuses for now is sent again; one refused for good is kept as failed with its error', async () => {
  const out = sender(rtA, { retryDelaysS: [0] }).start();
  const later = await recipient();
  smtp.refuse(1, 451);
  await out.deliver(inst.scope, { userId: later.userId, message: { kind: 'passwordChanged' }, options: {} });
  const mail = await smtp.waitFor(later.email, () => true, 20_000);
  expect(mail.subject).toBe('Your password was changed');
  expect(
    await eventually(
      () => rowsOf(later.userId),
      (r) => r.length === 0,
    ),
  ).toEqual([]);

  const never = await recipient();
  smtp.refuse(Infinity, 550);
  try {
    await out.deliver(inst.scope, { userId: never.userId, message: { kind: 'passwordChanged' }, options: {} });
    const [row] = await eventually(
      () => rowsOf(never.userId),
      (r) => r[0]?.failed_at != null,
      20_000,
    );
    expect(row).toMatchObject({ attempts: 2, last_error: expect.stringMatching(/refused by the test/) });
  } finally {
    smtp.refuse(0);
  }
});
