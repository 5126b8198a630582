import type { Scope } from '../../db/scope.js';

/** The instance's SMS provider row (one per instance; the Scope names which). */
export interface SmsProviderRow {
  type: 'http';
  endpoint: string;
  description: string | null;
  signing_key_enc: string;
  created_at: Date;
  updated_at: Date;
}

export type SmsProviderPatch = Partial<Pick<SmsProviderRow, 'endpoint' | 'description' | 'signing_key_enc'>> & { updated_at: Date };

export async function getSmsProviderRow(scope: Scope): Promise<SmsProviderRow | undefined> {
  return scope.table('instance_sms_providers').first<SmsProviderRow | undefined>();
}

export async function insertSmsProvider(scope: Scope, row: Omit<SmsProviderRow, 'created_at' | 'updated_at'>): Promise<void> {
  await scope.insert('instance_sms_providers', row);
}

/** Returns how many rows changed: 0 when the instance has no provider. */
export async function updateSmsProvider(scope: Scope, patch: SmsProviderPatch): Promise<number> {
  return scope.table('instance_sms_providers').update(patch);
}

/** Returns how many rows went: 0 when the instance had no provider. */
export async function deleteSmsProvider(scope: Scope): Promise<number> {
  return scope.table('instance_sms_providers').delete();
}
