import { isUniqueViolation } from '../../db/scope.js';
import { alreadyExists, invalidInput, permissionDenied, ruleViolation } from '../../shared/errors.js';
import { appendEvent } from '../audit/repository.js';
import type { ServiceContext } from '../deps.js';
import { countPasskeysOfUser } from '../passkey/repository.js';
import { getEffectivePolicy } from '../policy/service.js';
import { requireRecentSignIn } from '../recent-sign-in.js';
import { getUser } from '../user/repository.js';
import { getIdp, getIdpLink, insertIdpLink, listIdpLinksOfUser, listIdps } from './repository.js';

function selfOf(ctx: ServiceContext): string {
  if (ctx.actor.type !== 'user') throw permissionDenied('user.self');
  return ctx.actor.userId;
}

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
  const userId = selfOf(ctx);
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

/**
 * The IdPs the signed-in user may link an account at: the ones their org's login policy offers at
 * sign-in (its own and the instance's, active, with allowExternalIdp on), that allow linking
 * (isLinkingAllowed), and at which the user has no linked account yet.
 */
export async function linkableIdps(ctx: ServiceContext): Promise<{ id: string; name: string }[]> {
  const userId = selfOf(ctx);
  const user = await getUser(ctx.scope, userId);
  if (!user || user.type !== 'human') return [];
  const policy = await getEffectivePolicy(ctx.scope, 'login', user.org_id);
  if (!policy.allowExternalIdp || !policy.idpIds.length) return [];
  const [available, links] = await Promise.all([listIdps(ctx.scope, { orgId: user.org_id }), listIdpLinksOfUser(ctx.scope, userId)]);
  const linked = new Set(links.map((l) => l.idp_id));
  return policy.idpIds
    .map((id) => available.find((i) => i.id === id && i.state === 'active' && i.is_linking_allowed && !linked.has(id)))
    .filter((i) => i !== undefined)
    .map((i) => ({ id: i.id, name: i.name }));
}

/** How long the upstream's answer to a link may take: the flow must come back within it, once. */
export const LINK_TTL_S = 10 * 60;

/**
 * Links an account at an upstream IdP to the signed-in user, after they signed in there (the
 * account page ran the code flow: src/account/identity-link.ts). A new link is a new way to sign
 * in as the user, so the sign-in behind the caller must have been recent when the link was
 * started (`startedAt`, at most LINK_TTL_S ago: time spent at the upstream does not count),
 * else 403 reauthentication_required (src/domain/recent-sign-in.ts). Refused when the IdP is not one
 * linkableIdps offers (idp.not_available), or when that upstream account already signs in as a
 * user: as this one (idp_link.exists_own), or as someone else (idp_link.taken, which names nobody).
 * Audited as user.idp.linked, by the user.
 */
export async function linkOwnIdentity(
  ctx: ServiceContext,
  input: { idpId: string; externalUserId: string; externalUsername?: string; startedAt: Date },
): Promise<void> {
  const userId = selfOf(ctx);
  const started = input.startedAt.getTime();
  if (!(started <= Date.now() && started > Date.now() - LINK_TTL_S * 1000)) throw invalidInput('the link was not started in the last ten minutes');
  requireRecentSignIn(ctx, userId, started);
  const user = await getUser(ctx.scope, userId);
  if (!user) throw permissionDenied('user.self');
  if (!(await linkableIdps(ctx)).some((i) => i.id === input.idpId)) {
    throw ruleViolation('idp.not_available', 'this identity provider cannot be linked to your account');
  }
  const taken = async () => {
    const existing = await getIdpLink(ctx.scope, input.idpId, input.externalUserId);
    return existing?.user_id === userId
      ? alreadyExists('idp_link.exists_own', 'this external account is already linked to your account')
      : alreadyExists('idp_link.taken', 'this external account is already linked to another user');
  };
  if (await getIdpLink(ctx.scope, input.idpId, input.externalUserId)) throw await taken();
  try {
    await ctx.scope.transaction(async (scope) => {
      await insertIdpLink(scope, {
        idp_id: input.idpId,
        external_user_id: input.externalUserId,
        user_id: userId,
        external_username: input.externalUsername ?? null,
      });
      await appendEvent(scope, ctx.actor, {
        orgId: user.org_id,
        resourceType: 'user',
        resourceId: userId,
        type: 'user.idp.linked',
        payload: { idpId: input.idpId, externalUserId: input.externalUserId, selfService: true },
      });
    });
  } catch (err) {
    // Linked by someone else between the check and the insert.
    if (isUniqueViolation(err, 'user_idp_links_pkey')) throw await taken();
    throw err;
  }
}
