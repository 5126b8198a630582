import { authorize } from '../authorization.js';
import { notFound } from '../../shared/errors.js';
import type { ServiceContext } from '../deps.js';
import { getUser } from '../user/repository.js';
import { applicationsByClientId, listConsentGrants } from './repository.js';

/** One application the user signed in to and allowed access: its grants taken together. */
export interface AppConsent {
  clientId: string;
  /** The application's and its project's names; null for a client that is no longer an application. */
  appName: string | null;
  projectName: string | null;
  scopes: string[];
  firstGrantedAt: Date | null;
  grantIds: string[];
}

/** The applications a user has consented to: their own, or a manager's view with user.read. */
export async function listAppConsents(ctx: ServiceContext, userId: string): Promise<AppConsent[]> {
  const user = await getUser(ctx.scope, userId);
  if (!user || user.type !== 'human') throw notFound('user', userId);
  if (!(ctx.actor.type === 'user' && ctx.actor.userId === userId)) await authorize(ctx, 'user.read', { orgId: user.org_id });
  const grants = await listConsentGrants(ctx.scope, userId);
  const apps = new Map((await applicationsByClientId(ctx.scope, [...new Set(grants.map((g) => g.clientId))])).map((a) => [a.client_id, a]));
  const byClient = new Map<string, AppConsent>();
  for (const g of grants) {
    const app = apps.get(g.clientId);
    const entry = byClient.get(g.clientId) ?? {
      clientId: g.clientId,
      appName: app?.name ?? null,
      projectName: app?.project_name ?? null,
      scopes: [],
      firstGrantedAt: null,
      grantIds: [],
    };
    entry.scopes = [...new Set([...entry.scopes, ...g.scopes])].sort();
    if (g.grantedAt && (!entry.firstGrantedAt || g.grantedAt < entry.firstGrantedAt)) entry.firstGrantedAt = g.grantedAt;
    entry.grantIds.push(g.id);
    byClient.set(g.clientId, entry);
  }
  return [...byClient.values()].sort((a, b) => (a.appName ?? a.clientId).localeCompare(b.appName ?? b.clientId));
}
