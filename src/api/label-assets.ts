import { z } from 'zod';
import {
  assetContentTypes,
  assetKinds,
  MAX_ASSET_BYTES,
  removeLabelAsset,
  setLabelAsset,
  type AssetKind,
  type LabelAssetRow,
} from '../domain/policy/label-assets.js';
import type { Permission } from '../authz/index.js';
import { readLabelAssets } from '../domain/policy/queries.js';
import { assetPath } from '../ui/branding.js';
import type { Call, RouteList } from './route.js';
import { iso, timestamp } from './schemas.js';

/**
 * The label policy's logo, icon (light and dark) and font, for an org (Management API) or as
 * the instance default (Admin API). Uploads are the file itself as the request body with its
 * Content-Type; the login pages and mails of the org show them at once (they are read per page).
 */
const kindParams = z.object({ kind: z.enum(assetKinds).meta({ description: 'logo_light, logo_dark, icon_light, icon_dark or font' }) });
const allTypes = [...new Set(Object.values(assetContentTypes).flat())];
const assetSchema = z
  .object({
    kind: z.enum(assetKinds),
    contentType: z.string(),
    bytes: z.number().int(),
    updatedAt: timestamp,
    url: z.string().meta({ description: "where the login pages serve it (path on the instance's domains)" }),
  })
  .meta({ id: 'LabelAsset' });

export function labelAssetRoutes(group: RouteList, level: 'instance' | 'org'): void {
  const tag = 'Policies';
  const orgOf = (call: Call) => (level === 'org' ? call.orgId : null);
  const views = async (call: Call, kinds: readonly AssetKind[], permission?: Permission) => {
    const orgId = orgOf(call);
    return (await readLabelAssets(call.svc, orgId, kinds, permission)).map((row) => view(orgId, row.kind, row));
  };
  const view = (orgId: string | null, kind: AssetKind, row: LabelAssetRow) => {
    const updatedAt = iso(row.updated_at)!;
    return {
      kind,
      contentType: row.content_type,
      bytes: row.data.length,
      updatedAt,
      url: assetPath(orgId ?? 'instance', kind, new Date(row.updated_at).getTime()),
    };
  };
  const readPermission = level === 'org' ? 'policy.read' : 'iam.policy.read';
  const which = level === 'org' ? "the org's" : 'the instance default';

  group.route({
    method: 'get',
    path: '/policies/label/assets',
    tag,
    summary: `The uploaded logos, icons and font of ${which} label policy`,
    permission: readPermission,
    response: z.object({ result: z.array(assetSchema) }),
    handler: async ({ call }) => {
      return { result: await views(call, assetKinds) };
    },
  });

  group.route({
    method: 'put',
    path: '/policies/label/assets/{kind}',
    tag,
    status: 200,
    summary: `Upload (or replace) a logo, icon or font of ${which} label policy`,
    description:
      `The body is the file itself. Logos: ${assetContentTypes.logo_light.join(', ')}; icons also image/x-icon; ` +
      `font: ${assetContentTypes.font.join(', ')}. At most ${MAX_ASSET_BYTES / 1024} KiB. SVGs are served sandboxed.`,
    permission: level === 'org' ? 'policy.write' : 'iam.policy.write',
    params: kindParams,
    rawBody: { contentTypes: allTypes, maxBytes: MAX_ASSET_BYTES },
    response: assetSchema,
    handler: async ({ params, raw, call }) => {
      await setLabelAsset(call.svc, orgOf(call), params.kind, raw!.contentType, raw!.data);
      return (await views(call, [params.kind], level === 'org' ? 'policy.write' : 'iam.policy.write'))[0];
    },
  });

  group.route({
    method: 'delete',
    path: '/policies/label/assets/{kind}',
    tag,
    summary: level === 'org' ? 'Remove an org asset (the instance default shows again)' : 'Remove an instance default asset',
    permission: level === 'org' ? 'policy.delete' : 'iam.policy.write',
    params: kindParams,
    handler: async ({ params, call }) => {
      await removeLabelAsset(call.svc, orgOf(call), params.kind);
    },
  });
}
