import { createHmac } from 'node:crypto';
import type { Scope } from '../db/scope.js';
import { smsProviderForSending } from '../domain/instance/sms-provider.js';
import type { SecretBox } from '../shared/crypto.js';
import type { Outbound } from '../shared/outbound.js';
import { DomainError } from '../shared/errors.js';
import type { SmsMessage, SmsSender } from './delivery.js';

/** The header that carries the signature: `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`. */
export const SMS_SIGNATURE_HEADER = 'x-tessera-signature';
const TIMEOUT_MS = 10_000;

/** The signature a receiver recomputes with its signing key (and then compares in constant time, and checks t is recent). */
export function smsSignature(signingKey: string, timestamp: number, body: string): string {
  return `t=${timestamp},v1=${createHmac('sha256', signingKey).update(`${timestamp}.${body}`).digest('hex')}`;
}

/**
 * The instance's "HTTP webhook" SMS provider (ZITADEL's HTTP SMS provider): a POST of
 * `{ "recipient", "text" }` as JSON to the configured endpoint, signed with the provider's key.
 * Any 2xx counts as sent; anything else (or no answer within ten seconds) throws, and the outbox
 * tries again later.
 */
export class WebhookSmsSender implements SmsSender {
  constructor(
    private readonly box: SecretBox,
    private readonly outbound: Outbound,
  ) {}

  async send(scope: Scope, sms: SmsMessage): Promise<void> {
    const provider = await smsProviderForSending(scope, this.box);
    if (!provider) throw new DomainError('precondition_failed', 'the instance has no SMS provider', 'sms.no_provider');
    const body = JSON.stringify({ recipient: sms.recipient, text: sms.text });
    const res = await this.outbound.fetch(provider.endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/json', [SMS_SIGNATURE_HEADER]: smsSignature(provider.signingKey, Math.floor(Date.now() / 1000), body) },
      body,
      redirect: 'error',
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
    await res.body?.cancel();
    if (!res.ok) throw new Error(`the SMS webhook answered ${res.status}`);
  }
}
