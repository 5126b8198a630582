import type { Scope } from '../../db/scope.js';

/**
 * What a user consented to: oidc-provider's Grant payloads (always in PostgreSQL, see
 * src/oidc/adapter.ts), read as data. A grant is made per sign-in session and application, so
 * one application may hold several.
 */
export interface ConsentGrantRow {
  id: string;
  clientId: string;
  scopes: string[];
  grantedAt: Date | null;
  expiresAt: Date | null;
}

interface GrantPayload {
  accountId?: string;
  clientId?: string;
  iat?: number;
  openid?: { scope?: string };
}

export async function listConsentGrants(scope: Scope, userId: string): Promise<ConsentGrantRow[]> {
  const rows: { id: string; payload: GrantPayload; expires_at: Date | null }[] = await scope
    .table('oidc_payloads')
    .where({ model: 'Grant' })
    .whereRaw(`payload->>'accountId' = ?`, [userId])
    .andWhere((q) => q.whereNull('expires_at').orWhere('expires_at', '>', new Date()))
    .select('id', 'payload', 'expires_at');
  return rows
    .filter((r) => typeof r.payload.clientId === 'string')
    .map((r) => ({
      id: r.id,
      clientId: r.payload.clientId!,
      scopes: (r.payload.openid?.scope ?? '').split(' ').filter(Boolean),
      grantedAt: r.payload.iat ? new Date(r.payload.iat * 1000) : null,
      expiresAt: r.expires_at,
    }));
}

/** The applications behind client ids, with their projects, for naming them to the user. */
export async function applicationsByClientId(scope: Scope, clientIds: string[]): Promise<{ client_id: string; name: string; project_name: string }[]> {
  if (clientIds.length === 0) return [];
  return scope
    .join(scope.table('applications', 'a'), 'projects as p', (j) => j.on('p.id', 'a.project_id'))
    .whereIn('a.client_id', clientIds)
    .select('a.client_id', 'a.name', 'p.name as project_name');
}

/** Removes grants and every token stored under them (in PostgreSQL; Redis-held ones are the caller's). */
export async function deleteConsentGrants(scope: Scope, grantIds: string[]): Promise<void> {
  if (grantIds.length === 0) return;
  await scope.table('oidc_payloads').where({ model: 'Grant' }).whereIn('id', grantIds).delete();
  await scope.table('oidc_payloads').whereIn('grant_id', grantIds).delete();
}
