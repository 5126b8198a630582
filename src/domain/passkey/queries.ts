import { authorize } from '../authorization.js';
import { notFound } from '../../shared/errors.js';
import type { ServiceContext } from '../deps.js';
import { getUser } from '../user/repository.js';
import { listPasskeysOfUser } from './repository.js';

/** What anyone may see of a passkey: never its key material. */
export interface PasskeyView {
  id: string;
  name: string;
  rpId: string;
  /** A multi-device (synced) credential, and whether it is backed up now. */
  backupEligible: boolean;
  backedUp: boolean;
  transports: string[];
  aaguid: string | null;
  createdAt: Date;
  lastUsedAt: Date | null;
}

/** A user's passkeys: their own, or a manager's view with user.read on the user's org. */
export async function listPasskeys(ctx: ServiceContext, userId: string): Promise<PasskeyView[]> {
  const user = await getUser(ctx.scope, userId);
  if (!user || user.type !== 'human') throw notFound('user', userId);
  if (!(ctx.actor.type === 'user' && ctx.actor.userId === userId)) await authorize(ctx, 'user.read', { orgId: user.org_id });
  return (await listPasskeysOfUser(ctx.scope, userId)).map((p) => ({
    id: p.id,
    name: p.name,
    rpId: p.rp_id,
    backupEligible: p.backup_eligible,
    backedUp: p.backed_up,
    transports: p.transports,
    aaguid: p.aaguid,
    createdAt: p.created_at,
    lastUsedAt: p.last_used_at,
  }));
}
