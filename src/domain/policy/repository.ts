import type { Scope } from '../../db/scope.js';
import type { PolicyKind } from './schemas.js';

export interface PolicyRow {
  kind: PolicyKind;
  org_id: string | null;
  settings: Record<string, unknown>;
  version: number;
  updated_at: Date;
}

/** The instance default (orgId null) or an org's override of one policy kind. */
export async function getPolicyRow(scope: Scope, kind: PolicyKind, orgId: string | null): Promise<PolicyRow | undefined> {
  const q = scope.table('policies').where({ kind });
  return orgId === null ? q.whereNull('org_id').first() : q.where({ org_id: orgId }).first();
}

export async function listOrgPolicyOverrides(scope: Scope, orgId: string): Promise<PolicyRow[]> {
  return scope.table('policies').where({ org_id: orgId }).orderBy('kind');
}

export async function upsertPolicyRow(scope: Scope, kind: PolicyKind, orgId: string | null, settings: object): Promise<void> {
  const existing = await getPolicyRow(scope, kind, orgId);
  if (existing) {
    const q = scope.table('policies').where({ kind });
    await (orgId === null ? q.whereNull('org_id') : q.where({ org_id: orgId }))
      .update({ settings: JSON.stringify(settings), updated_at: new Date(), version: scope.db.raw('version + 1') });
  } else {
    await scope.insert('policies', { kind, org_id: orgId, settings: JSON.stringify(settings) });
  }
}

export async function deletePolicyRow(scope: Scope, kind: PolicyKind, orgId: string): Promise<number> {
  return scope.table('policies').where({ kind, org_id: orgId }).delete();
}
