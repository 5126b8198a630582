import type { Permission } from '../../authz/index.js';
import { authorize, isAllowed } from '../authorization.js';
import { notFound, staleVersion } from '../../shared/errors.js';
import type { ServiceContext } from '../deps.js';
import { listIdps } from '../idp/repository.js';
import { getOrg } from '../org/repository.js';
import { getLabelAsset, type AssetKind, type LabelAssetRow } from './repository.js';
import { assetKinds } from './label-assets.js';
import { getEffectivePolicy } from './service.js';
import { getPolicyRow } from './repository.js';
import { policySchemas, type PolicyKind, type PolicySettings } from './schemas.js';

/**
 * Reads of policies for callers that show them and save them later (the console). An org's
 * policy needs policy.read on the org (an org the caller may not see is not_found); the instance
 * defaults need iam.policy.read.
 */
export interface PolicyForEditing<K extends PolicyKind> {
  kind: K;
  /** what applies now: the org's own policy, else the instance default */
  settings: PolicySettings<K>;
  /** the instance default (for "reset to the instance default" and for comparing) */
  instanceDefault: PolicySettings<K>;
  /** true: the org follows the instance default (always true at instance level) */
  isDefault: boolean;
  /** the stored row's version; 0 when the org has no policy of its own */
  version: number;
}

async function authorizeRead(ctx: ServiceContext, orgId: string | null): Promise<void> {
  if (!orgId) return authorize(ctx, 'iam.policy.read', {});
  if (!(await getOrg(ctx.scope, orgId)) || !(await isAllowed(ctx, 'policy.read', { orgId }))) throw notFound('org', orgId);
}

export async function policyForEditing<K extends PolicyKind>(ctx: ServiceContext, orgId: string | null, kind: K): Promise<PolicyForEditing<K>> {
  await authorizeRead(ctx, orgId);
  const [row, settings, instanceDefault] = await Promise.all([
    getPolicyRow(ctx.scope, kind, orgId),
    getEffectivePolicy(ctx.scope, kind, orgId),
    getEffectivePolicy(ctx.scope, kind, null),
  ]);
  return { kind, settings, instanceDefault, isDefault: orgId ? !row : true, version: row?.version ?? 0 };
}

/** The IdPs a login policy of this org (or the instance) may offer: the instance's and the org's own. */
export async function idpsOfferable(ctx: ServiceContext, orgId: string | null): Promise<{ id: string; name: string; orgId: string | null; active: boolean }[]> {
  await authorizeRead(ctx, orgId);
  return (await listIdps(ctx.scope, { orgId })).map((i) => ({ id: i.id, name: i.name, orgId: i.org_id, active: i.state === 'active' }));
}

/** The label assets stored for this org (or the instance), without their data. */
export async function labelAssetsOf(
  ctx: ServiceContext,
  orgId: string | null,
): Promise<{ kind: AssetKind; contentType: string; bytes: number; updatedAt: Date }[]> {
  await authorizeRead(ctx, orgId);
  const out = [];
  for (const kind of assetKinds) {
    const row = await getLabelAsset(ctx.scope, orgId, kind);
    if (row) out.push({ kind, contentType: row.content_type, bytes: row.data.length, updatedAt: row.updated_at });
  }
  return out;
}

/**
 * Runs `change` only if the policy is still at the version the caller saw (0: the org had no
 * policy of its own). The policy's lock (the one patchPolicy takes) is held for the transaction,
 * so the check and the write cannot interleave with another writer.
 */
export async function atPolicyVersion<T>(
  ctx: ServiceContext,
  orgId: string | null,
  kind: PolicyKind,
  expected: number | undefined,
  change: (ctx: ServiceContext) => Promise<T>,
): Promise<T> {
  return ctx.scope.transaction(async (scope) => {
    await scope.lock(`policy:${orgId ?? ''}:${kind}`);
    const current = (await getPolicyRow(scope, kind, orgId))?.version ?? 0;
    if (expected !== undefined && current !== expected) throw staleVersion(current, expected);
    return change({ ...ctx, scope });
  });
}

// ---- the APIs' reads: a missing permission answers permission_denied; after a write, the caller names the write's permission ----

const apiReadPermission = (orgId: string | null): Permission => (orgId ? 'policy.read' : 'iam.policy.read');
const resourceOf = (orgId: string | null) => (orgId ? { orgId } : {});

export interface PolicyView<K extends PolicyKind> {
  settings: PolicySettings<K>;
  /** the version of the org's own (or the instance default) row; null when the org follows the default */
  version: number | null;
}

export async function readPolicy<K extends PolicyKind>(
  ctx: ServiceContext,
  kind: K,
  orgId: string | null,
  permission = apiReadPermission(orgId),
): Promise<PolicyView<K>> {
  await authorize(ctx, permission, resourceOf(orgId));
  const row = await getPolicyRow(ctx.scope, kind, orgId);
  return { settings: await getEffectivePolicy(ctx.scope, kind, orgId), version: row?.version ?? null };
}

/** The label policy's uploaded files (the org's own, or the instance default's), with their data. */
export async function readLabelAssets(
  ctx: ServiceContext,
  orgId: string | null,
  kinds: readonly AssetKind[],
  permission = apiReadPermission(orgId),
): Promise<LabelAssetRow[]> {
  await authorize(ctx, permission, resourceOf(orgId));
  const rows = await Promise.all(kinds.map((kind) => getLabelAsset(ctx.scope, orgId, kind)));
  return rows.filter((r): r is LabelAssetRow => Boolean(r));
}

export { policySchemas };
