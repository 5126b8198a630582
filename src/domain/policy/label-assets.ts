import type { Scope } from '../../db/scope.js';
import { authorize } from '../authorization.js';
import { appendEvent } from '../audit/repository.js';
import type { ServiceContext } from '../deps.js';
import { getOrg } from '../org/repository.js';
import { DomainError, invalidInput, notFound } from '../../shared/errors.js';
import { deleteLabelAsset, replaceLabelAsset, type AssetKind } from './repository.js';

export { getLabelAsset, labelAssetStamps, type AssetKind, type LabelAssetRow } from './repository.js';

/**
 * The label policy's uploaded assets (logo and icon, light and dark, and a font), per org or
 * for the instance default (org_id null). The login pages and mails show them
 * (src/ui/branding.ts); the Management and Admin APIs and the CLI change them here, so the
 * rules (kinds, content types, size) and the audit live in one place.
 */
export const assetKinds = ['logo_light', 'logo_dark', 'icon_light', 'icon_dark', 'font'] as const satisfies readonly AssetKind[];
const images = ['image/png', 'image/jpeg', 'image/gif', 'image/webp', 'image/svg+xml'];
/** What each kind may be: images for logos and icons (SVG is served sandboxed), web fonts for the font. */
export const assetContentTypes: Record<AssetKind, readonly string[]> = {
  logo_light: images,
  logo_dark: images,
  icon_light: [...images, 'image/x-icon'],
  icon_dark: [...images, 'image/x-icon'],
  font: ['font/woff2', 'font/woff', 'font/ttf', 'font/otf', 'application/font-woff'],
};
export const MAX_ASSET_BYTES = 512 * 1024;

/** Stores (or replaces) an uploaded logo, icon or font; orgId null for the instance default. */
export async function putLabelAsset(scope: Scope, orgId: string | null, kind: AssetKind, contentType: string, data: Buffer): Promise<void> {
  if (!assetKinds.includes(kind)) throw invalidInput(`unknown asset kind ${kind}`);
  if (!assetContentTypes[kind].includes(contentType))
    throw new DomainError('invalid_input', `${contentType} is not allowed for ${kind}`, 'label_asset.unsupported_type', { allowed: assetContentTypes[kind] });
  if (data.length === 0 || data.length > MAX_ASSET_BYTES)
    throw new DomainError('invalid_input', `an asset must be 1 byte to ${MAX_ASSET_BYTES / 1024} KiB`, 'label_asset.size', { maxBytes: MAX_ASSET_BYTES });
  await replaceLabelAsset(scope, { org_id: orgId, kind, content_type: contentType, data });
}

/**
 * The service the management and admin APIs call to upload a logo, icon or font: org assets need
 * policy.write on the org, instance assets iam.policy.write; the change is audited.
 */
export async function setLabelAsset(ctx: ServiceContext, orgId: string | null, kind: AssetKind, contentType: string, data: Buffer): Promise<void> {
  if (orgId) await authorize(ctx, 'policy.write', { orgId });
  else await authorize(ctx, 'iam.policy.write', {});
  if (orgId && !(await getOrg(ctx.scope, orgId))) throw notFound('org', orgId);
  await ctx.scope.transaction(async (scope) => {
    await putLabelAsset(scope, orgId, kind, contentType, data);
    await appendEvent(scope, ctx.actor, {
      orgId,
      resourceType: 'label_asset',
      resourceId: `${orgId ?? 'instance'}:${kind}`,
      type: orgId ? 'org.label_asset.set' : 'instance.label_asset.set',
      payload: { kind, contentType, bytes: data.length },
    });
  });
  // Login pages keep the asset stamps with the provider (src/domain/sign-in-reads.ts).
  await ctx.deps.changes.publish(ctx.scope.instanceId);
}

export async function removeLabelAsset(ctx: ServiceContext, orgId: string | null, kind: AssetKind): Promise<void> {
  if (orgId) await authorize(ctx, 'policy.delete', { orgId });
  else await authorize(ctx, 'iam.policy.write', {});
  await ctx.scope.transaction(async (scope) => {
    if ((await deleteLabelAsset(scope, orgId, kind)) === 0) throw notFound('label asset', kind);
    await appendEvent(scope, ctx.actor, {
      orgId,
      resourceType: 'label_asset',
      resourceId: `${orgId ?? 'instance'}:${kind}`,
      type: orgId ? 'org.label_asset.removed' : 'instance.label_asset.removed',
    });
  });
  await ctx.deps.changes.publish(ctx.scope.instanceId);
}
