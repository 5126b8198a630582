import { permissionDenied } from '../../shared/errors.js';
import type { ServiceContext } from '../deps.js';
import { countPasskeysOfUser } from '../passkey/repository.js';
import { getUser } from '../user/repository.js';
import { getIdp, listIdpLinksOfUser } from './repository.js';

/** One of the signed-in user's links to an external IdP, as the account page shows it. */
export interface OwnIdpLink {
  idpId: string;
  idpName: string;
  externalUserId: string;
  externalUsername: string | null;
  linkedAt: Date;
  /** false when it is the user's only way to sign in (unlinkUser refuses then) */
  removable: boolean;
}

/** The user's own external identities; each says whether unlinking it would leave another way to sign in. */
export async function ownIdpLinks(ctx: ServiceContext): Promise<OwnIdpLink[]> {
  if (ctx.actor.type !== 'user') throw permissionDenied('user.self');
  const userId = ctx.actor.userId;
  const [user, links, passkeys] = await Promise.all([
    getUser(ctx.scope, userId),
    listIdpLinksOfUser(ctx.scope, userId),
    countPasskeysOfUser(ctx.scope, userId),
  ]);
  const otherWayIn = Boolean(user?.password_hash) || passkeys > 0 || links.length > 1;
  return Promise.all(
    links.map(async (l) => ({
      idpId: l.idp_id,
      idpName: (await getIdp(ctx.scope, l.idp_id))?.name ?? l.idp_id,
      externalUserId: l.external_user_id,
      externalUsername: l.external_username,
      linkedAt: new Date(l.created_at),
      removable: otherWayIn,
    })),
  );
}
