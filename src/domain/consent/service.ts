import { authorize } from '../authorization.js';
import { notFound } from '../../shared/errors.js';
import { appendEvent } from '../audit/repository.js';
import type { ServiceContext } from '../deps.js';
import { getUser } from '../user/repository.js';
import { deleteConsentGrants, listConsentGrants } from './repository.js';

/**
 * Revokes what a user allowed an application: its grants and the tokens issued under them. The
 * application's next request for the user asks for consent again (first-party applications,
 * which skip consent, sign the user in afresh). Returns the grant ids, so the caller can also
 * revoke tokens the provider keeps outside PostgreSQL (Redis) and drop its caches.
 */
export async function revokeAppConsent(ctx: ServiceContext, userId: string, clientId: string): Promise<{ grantIds: string[] }> {
  const user = await getUser(ctx.scope, userId);
  if (!user || user.type !== 'human') throw notFound('user', userId);
  if (!(ctx.actor.type === 'user' && ctx.actor.userId === userId)) await authorize(ctx, 'user.write', { orgId: user.org_id });
  return ctx.scope.transaction(async (scope) => {
    const grantIds = (await listConsentGrants(scope, userId)).filter((g) => g.clientId === clientId).map((g) => g.id);
    if (grantIds.length === 0) throw notFound('consent', clientId);
    await deleteConsentGrants(scope, grantIds);
    await appendEvent(scope, ctx.actor, { orgId: user.org_id, resourceType: 'user', resourceId: userId, type: 'user.consent.revoked', payload: { clientId } });
    return { grantIds };
  });
}
