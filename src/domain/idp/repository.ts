import type { Scope } from '../../db/scope.js';

export type AutoLinking = 'none' | 'email' | 'username';

export interface IdpRow {
  id: string;
  org_id: string | null;
  name: string;
  type: 'oidc';
  state: 'active' | 'inactive';
  issuer: string;
  client_id: string;
  scopes: string[];
  is_linking_allowed: boolean;
  is_creation_allowed: boolean;
  is_auto_creation: boolean;
  is_auto_update: boolean;
  auto_linking: AutoLinking;
  version: number;
  created_at: Date;
  updated_at: Date;
}

export interface IdpWithSecret extends IdpRow {
  clientSecret: string | null;
}

export interface UserIdpLinkRow {
  idp_id: string;
  external_user_id: string;
  user_id: string;
  external_username: string | null;
  created_at: Date;
}

const publicColumns = [
  'id',
  'org_id',
  'name',
  'type',
  'state',
  'issuer',
  'client_id',
  'scopes',
  'is_linking_allowed',
  'is_creation_allowed',
  'is_auto_creation',
  'is_auto_update',
  'auto_linking',
  'version',
  'created_at',
  'updated_at',
];

/** An IdP without its secret. */
export async function getIdp(scope: Scope, id: string): Promise<IdpRow | undefined> {
  return scope.table('idps').where({ id }).first(publicColumns);
}

export async function getIdpSecretEnc(scope: Scope, id: string): Promise<string | null | undefined> {
  const row = await scope.table('idps').where({ id }).first('client_secret_enc');
  return row ? row.client_secret_enc : undefined;
}

/**
 * IdPs visible in an org's context: the instance's own and, with orgId, the org's. Without
 * orgId, only instance IdPs.
 */
export async function listIdps(scope: Scope, filter: { orgId?: string | null; onlyOrg?: boolean } = {}): Promise<IdpRow[]> {
  const q = scope.table('idps').orderBy('name').select(publicColumns);
  if (filter.onlyOrg && filter.orgId) q.where({ org_id: filter.orgId });
  else if (filter.orgId)
    q.where((w) => {
      w.whereNull('org_id').orWhere({ org_id: filter.orgId });
    });
  else q.whereNull('org_id');
  return q;
}

export async function insertIdp(
  scope: Scope,
  row: Omit<IdpRow, 'version' | 'created_at' | 'updated_at' | 'type' | 'state'> & { client_secret_enc: string | null },
): Promise<void> {
  await scope.insert('idps', row);
}

export async function updateIdpRow(scope: Scope, id: string, patch: Record<string, unknown>): Promise<number> {
  return scope
    .table('idps')
    .where({ id })
    .update({ ...patch, ...scope.bump() });
}

export async function deleteIdpRow(scope: Scope, id: string): Promise<number> {
  return scope.table('idps').where({ id }).delete();
}

export async function findUserByIdpLink(
  scope: Scope,
  idpId: string,
  externalUserId: string,
): Promise<{ user_id: string; external_username: string | null } | undefined> {
  return scope.table('user_idp_links').where({ idp_id: idpId, external_user_id: externalUserId }).first('user_id', 'external_username');
}

export async function insertIdpLink(
  scope: Scope,
  row: { idp_id: string; external_user_id: string; user_id: string; external_username: string | null },
): Promise<void> {
  await scope.insert('user_idp_links', row);
}

export async function getIdpLink(scope: Scope, idpId: string, externalUserId: string): Promise<UserIdpLinkRow | undefined> {
  return scope.table('user_idp_links').where({ idp_id: idpId, external_user_id: externalUserId }).first();
}

export async function deleteIdpLink(scope: Scope, idpId: string, externalUserId: string): Promise<number> {
  return scope.table('user_idp_links').where({ idp_id: idpId, external_user_id: externalUserId }).delete();
}

export async function countIdpLinksOfUser(scope: Scope, userId: string): Promise<number> {
  const row = await scope.table('user_idp_links').where({ user_id: userId }).count<{ n: string }[]>('* as n').first();
  return Number(row?.n ?? 0);
}

export async function listIdpLinksOfUser(scope: Scope, userId: string): Promise<UserIdpLinkRow[]> {
  return scope.table('user_idp_links').where({ user_id: userId }).orderBy('created_at');
}

export async function countLinksOfIdp(scope: Scope, idpId: string): Promise<number> {
  const row = await scope.table('user_idp_links').where({ idp_id: idpId }).count<{ n: string }[]>('* as n').first();
  return Number(row?.n ?? 0);
}
