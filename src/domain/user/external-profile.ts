import { appendEvent } from '../audit/repository.js';
import type { ServiceContext } from '../deps.js';
import { getUser, updateUser, type UserRow } from './repository.js';

/** What an upstream IdP says about a user (its ID token and userinfo claims). */
export interface ExternalProfile {
  sub: string;
  email?: string;
  emailVerified: boolean;
  givenName?: string;
  familyName?: string;
  name?: string;
  preferredUsername?: string;
}

/**
 * An IdP's isAutoUpdate: the upstream profile wins on every login. A changed email takes the
 * upstream's word on its verification. Audited as a profile change from the IdP.
 */
export async function applyExternalProfile(ctx: ServiceContext, user: UserRow, p: ExternalProfile): Promise<UserRow> {
  const patch: Partial<UserRow> = {};
  if (p.givenName && p.givenName !== user.given_name) patch.given_name = p.givenName;
  if (p.familyName && p.familyName !== user.family_name) patch.family_name = p.familyName;
  if (p.name && p.name !== user.display_name) patch.display_name = p.name;
  if (p.email && p.email.toLowerCase() !== user.email?.toLowerCase()) {
    patch.email = p.email;
    patch.email_verified = p.emailVerified;
  }
  if (Object.keys(patch).length === 0) return user;
  await ctx.scope.transaction(async (scope) => {
    await updateUser(scope, user.id, patch);
    await appendEvent(scope, ctx.actor, {
      orgId: user.org_id,
      resourceType: 'user',
      resourceId: user.id,
      type: 'user.profile.changed',
      payload: { fields: Object.keys(patch), source: 'idp' },
    });
  });
  return (await getUser(ctx.scope, user.id))!;
}
