import type { Scope } from '../../db/scope.js';
import type { PolicyKind } from './schemas.js';

/** The kinds of uploaded label assets (see label-assets.ts for what each may be). */
export type AssetKind = 'logo_light' | 'logo_dark' | 'icon_light' | 'icon_dark' | 'font';

export interface LabelAssetRow {
  org_id: string | null;
  kind: AssetKind;
  content_type: string;
  data: Buffer;
  updated_at: Date;
}

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
    await (orgId === null ? q.whereNull('org_id') : q.where({ org_id: orgId })).update({ settings: JSON.stringify(settings), ...scope.bump() });
  } else {
    await scope.insert('policies', { kind, org_id: orgId, settings: JSON.stringify(settings) });
  }
}

export async function deletePolicyRow(scope: Scope, kind: PolicyKind, orgId: string): Promise<number> {
  return scope.table('policies').where({ kind, org_id: orgId }).delete();
}

// ---- the label policy's uploaded assets (org_id null: the instance default) ----

export async function getLabelAsset(scope: Scope, orgId: string | null, kind: AssetKind): Promise<LabelAssetRow | undefined> {
  const q = scope.table('label_assets').where({ kind });
  return (orgId ? q.where({ org_id: orgId }) : q.whereNull('org_id')).first();
}

/** Stores an asset in place of any earlier one of the same kind and owner. */
export async function replaceLabelAsset(scope: Scope, row: Omit<LabelAssetRow, 'updated_at'>): Promise<void> {
  await scope.transaction(async (tx) => {
    await deleteLabelAsset(tx, row.org_id, row.kind);
    await tx.insert('label_assets', { ...row, updated_at: new Date() });
  });
}

export async function deleteLabelAsset(scope: Scope, orgId: string | null, kind: AssetKind): Promise<number> {
  const q = scope.table('label_assets').where({ kind });
  return (orgId ? q.where({ org_id: orgId }) : q.whereNull('org_id')).delete();
}

/** When each kind was last uploaded for this org or the instance (orgId null), with whose asset applies: the org's own wins. */
export async function labelAssetStamps(scope: Scope, orgId: string | null): Promise<Map<AssetKind, { owner: string; v: number }>> {
  const q = scope.table('label_assets').select('org_id', 'kind', 'updated_at');
  const rows: Pick<LabelAssetRow, 'org_id' | 'kind' | 'updated_at'>[] = orgId
    ? await q.where((w) => {
        w.whereNull('org_id').orWhere('org_id', orgId);
      })
    : await q.whereNull('org_id');
  const out = new Map<AssetKind, { owner: string; v: number }>();
  for (const r of rows.sort((a, b) => (a.org_id ? 1 : 0) - (b.org_id ? 1 : 0))) {
    out.set(r.kind, { owner: r.org_id ?? 'instance', v: new Date(r.updated_at).getTime() });
  }
  return out;
}
