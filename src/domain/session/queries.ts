import { isAllowed } from '../authorization.js';
import { notFound } from '../../shared/errors.js';
import type { ServiceContext } from '../deps.js';
import { getUser } from '../user/repository.js';
import { listSignInSessions, type SignInSession } from './repository.js';

export type { SignInSession } from './repository.js';

/** A user's current sign-in sessions, for the user and for managers with user.read on the user's org. */
export async function userSignInSessions(ctx: ServiceContext, userId: string): Promise<SignInSession[]> {
  const user = await getUser(ctx.scope, userId);
  const self = ctx.actor.type === 'user' && ctx.actor.userId === userId;
  // A user the caller may not read answers like one that does not exist.
  if (!user || !(self || (await isAllowed(ctx, 'user.read', { orgId: user.org_id })))) throw notFound('user', userId);
  return listSignInSessions(ctx.scope, userId);
}
