import type { Scope } from '../../db/scope.js';
import type { SecretBox } from '../../shared/crypto.js';
import { invalidInput, notFound } from '../../shared/errors.js';
import { newSecret } from '../../shared/ids.js';
import { appendEvent } from '../audit/repository.js';
import { authorize } from '../authorization.js';
import type { ServiceContext } from '../deps.js';
import { deleteSmsProvider, getSmsProviderRow, insertSmsProvider, updateSmsProvider, type SmsProviderRow } from './sms-provider-repository.js';

/**
 * The instance's SMS provider, as ZITADEL's "HTTP" SMS provider: Tessera POSTs
 * `{ "recipient": "+49…", "text": "…" }` to the endpoint the instance admin configured, and the
 * receiver (their own gateway) sends the SMS. Each request is signed with the provider's signing
 * key (HMAC-SHA256, src/notify/sms-webhook.ts); the key is made by Tessera, shown once when the
 * provider is created, and kept sealed under the master key. One provider per instance; without
 * one, phone numbers are kept unverified.
 */
export interface SmsProviderView {
  type: 'http';
  endpoint: string;
  description: string | null;
  createdAt: Date;
  updatedAt: Date;
}

const view = (r: SmsProviderRow): SmsProviderView => ({
  type: r.type,
  endpoint: r.endpoint,
  description: r.description,
  createdAt: new Date(r.created_at),
  updatedAt: new Date(r.updated_at),
});

function checkEndpoint(endpoint: string): string {
  let url: URL;
  try {
    url = new URL(endpoint.trim());
  } catch {
    throw invalidInput('endpoint must be an absolute http(s) URL');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw invalidInput('endpoint must be an http(s) URL');
  if (url.username || url.password) throw invalidInput('endpoint must not carry credentials; verify the signature instead');
  return url.toString();
}

export async function getSmsProvider(ctx: ServiceContext): Promise<SmsProviderView | undefined> {
  await authorize(ctx, 'iam.read', {});
  const r = await getSmsProviderRow(ctx.scope);
  return r && view(r);
}

/**
 * Creates or changes the instance's HTTP SMS provider. A new provider gets a signing key, returned
 * here once (`signingKey`); changing the endpoint keeps the key, `rotateSigningKey` makes a new one.
 */
export async function setHttpSmsProvider(
  ctx: ServiceContext,
  input: { endpoint: string; description?: string | null; rotateSigningKey?: boolean },
): Promise<SmsProviderView & { signingKey?: string }> {
  const endpoint = checkEndpoint(input.endpoint);
  const description = input.description?.trim() || null;
  if (description && description.length > 200) throw invalidInput('description has at most 200 characters');
  await authorize(ctx, 'iam.write', {});
  return ctx.scope.transaction(async (scope) => {
    const current = await getSmsProviderRow(scope);
    const signingKey = !current || input.rotateSigningKey ? newSecret(32) : undefined;
    const sealedKey = signingKey && ctx.deps.box.encrypt(signingKey);
    if (current) await updateSmsProvider(scope, { endpoint, description, ...(sealedKey ? { signing_key_enc: sealedKey } : {}), updated_at: new Date() });
    else if (sealedKey) await insertSmsProvider(scope, { type: 'http', endpoint, description, signing_key_enc: sealedKey });
    await appendEvent(scope, ctx.actor, {
      resourceType: 'instance',
      resourceId: scope.instanceId,
      type: current ? 'instance.sms_provider.changed' : 'instance.sms_provider.added',
      payload: { type: 'http', endpoint, signingKeyRotated: Boolean(signingKey && current) },
    });
    return { ...view((await getSmsProviderRow(scope))!), ...(signingKey ? { signingKey } : {}) };
  });
}

export async function removeSmsProvider(ctx: ServiceContext): Promise<void> {
  await authorize(ctx, 'iam.write', {});
  await ctx.scope.transaction(async (scope) => {
    if ((await deleteSmsProvider(scope)) === 0) throw notFound('sms provider');
    await appendEvent(scope, ctx.actor, { resourceType: 'instance', resourceId: scope.instanceId, type: 'instance.sms_provider.removed' });
  });
}

/** Whether the instance can send SMS at all (no permission: the account page asks for its user). */
export async function smsAvailable(scope: Scope): Promise<boolean> {
  return Boolean(await getSmsProviderRow(scope));
}

/** Where and how to send, for the sender (src/notify/sms-webhook.ts) only: it holds the signing key. */
export async function smsProviderForSending(scope: Scope, box: SecretBox): Promise<{ endpoint: string; signingKey: string } | undefined> {
  const r = await getSmsProviderRow(scope);
  return r && { endpoint: r.endpoint, signingKey: box.decrypt(r.signing_key_enc) };
}
