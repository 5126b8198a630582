import { authorize } from '../authorization.js';
import type { Scope } from '../../db/scope.js';
import { isUniqueViolation } from '../../db/scope.js';
import { alreadyExists, invalidInput, notFound, ruleViolation } from '../../shared/errors.js';
import { newId } from '../../shared/ids.js';
import type { SecretBox } from '../../shared/crypto.js';
import { appendEvent } from '../audit/repository.js';
import type { ServiceContext } from '../deps.js';
import { authorizeActingAs } from '../membership/service.js';
import { getOrg } from '../org/repository.js';
import { countPasskeysOfUser } from '../passkey/repository.js';
import { getUser } from '../user/repository.js';
import {
  countIdpLinksOfUser,
  deleteIdpLink,
  deleteIdpRow,
  getIdp,
  getIdpLink,
  getIdpSecretEnc,
  insertIdp,
  insertIdpLink,
  updateIdpRow,
  type AutoLinking,
  type IdpRow,
  type IdpWithSecret,
} from './repository.js';

export { findUserByIdpLink, listIdps, getIdp, listIdpLinksOfUser } from './repository.js';

export interface NewIdp {
  /** null or absent: an instance IdP, offered to every org whose login policy lists it */
  orgId?: string | null;
  name: string;
  issuer: string;
  clientId: string;
  clientSecret: string;
  scopes?: string[];
  isLinkingAllowed?: boolean;
  isCreationAllowed?: boolean;
  isAutoCreation?: boolean;
  isAutoUpdate?: boolean;
  autoLinking?: AutoLinking;
  id?: string;
}

export type IdpPatch = Partial<Omit<NewIdp, 'orgId' | 'id' | 'clientSecret'>> & { clientSecret?: string; state?: 'active' | 'inactive' };

const autoLinkings: AutoLinking[] = ['none', 'email', 'username'];

function checkIssuer(issuer: string): string {
  let u: URL;
  try {
    u = new URL(issuer);
  } catch {
    throw invalidInput(`issuer "${issuer}" is not a URL`);
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') throw invalidInput('an issuer must be an http(s) URL');
  return issuer.replace(/\/$/, '');
}

/** Instance IdPs need iam.idp.write; an org's own IdPs need org.idp.write on that org. */
async function authorizeIdp(ctx: ServiceContext, orgId: string | null): Promise<void> {
  if (orgId) await authorize(ctx, 'org.idp.write', { orgId });
  else await authorize(ctx, 'iam.idp.write', {});
}

function toColumns(input: IdpPatch): Record<string, unknown> {
  const c: Record<string, unknown> = {};
  if (input.name !== undefined) {
    if (!input.name.trim()) throw invalidInput('an IdP needs a name');
    c.name = input.name.trim();
  }
  if (input.issuer !== undefined) c.issuer = checkIssuer(input.issuer);
  if (input.clientId !== undefined) {
    if (!input.clientId) throw invalidInput('an IdP needs a client id');
    c.client_id = input.clientId;
  }
  if (input.scopes !== undefined) c.scopes = input.scopes;
  if (input.isLinkingAllowed !== undefined) c.is_linking_allowed = input.isLinkingAllowed;
  if (input.isCreationAllowed !== undefined) c.is_creation_allowed = input.isCreationAllowed;
  if (input.isAutoCreation !== undefined) c.is_auto_creation = input.isAutoCreation;
  if (input.isAutoUpdate !== undefined) c.is_auto_update = input.isAutoUpdate;
  if (input.autoLinking !== undefined) {
    if (!autoLinkings.includes(input.autoLinking)) throw invalidInput(`autoLinking must be one of ${autoLinkings.join(', ')}`);
    c.auto_linking = input.autoLinking;
  }
  if (input.state !== undefined) c.state = input.state;
  return c;
}

export async function createIdp(ctx: ServiceContext, input: NewIdp): Promise<{ id: string }> {
  const orgId = input.orgId ?? null;
  const cols = toColumns({ ...input, name: input.name ?? '', issuer: input.issuer ?? '', clientId: input.clientId ?? '' });
  await authorizeIdp(ctx, orgId);
  const id = input.id ?? newId();
  try {
    await ctx.scope.transaction(async (scope) => {
      if (orgId && !(await getOrg(scope, orgId))) throw notFound('org', orgId);
      await insertIdp(scope, {
        id,
        org_id: orgId,
        name: cols.name as string,
        issuer: cols.issuer as string,
        client_id: cols.client_id as string,
        client_secret_enc: input.clientSecret ? ctx.deps.box.encrypt(input.clientSecret) : null,
        scopes: input.scopes ?? ['openid', 'profile', 'email'],
        is_linking_allowed: input.isLinkingAllowed ?? true,
        is_creation_allowed: input.isCreationAllowed ?? true,
        is_auto_creation: input.isAutoCreation ?? false,
        is_auto_update: input.isAutoUpdate ?? false,
        auto_linking: input.autoLinking ?? 'none',
      });
      await appendEvent(scope, ctx.actor, { orgId, resourceType: 'idp', resourceId: id, type: 'idp.added', payload: { name: cols.name, issuer: cols.issuer } });
    });
  } catch (err) {
    if (isUniqueViolation(err, 'idps_pkey')) throw alreadyExists('idp.id_taken', `an IdP with id ${id} already exists`);
    throw err;
  }
  await ctx.deps.changes.publish(ctx.scope.instanceId);
  return { id };
}

async function requireIdp(scope: Scope, id: string): Promise<IdpRow> {
  const idp = await getIdp(scope, id);
  if (!idp) throw notFound('idp', id);
  return idp;
}

export async function updateIdp(ctx: ServiceContext, id: string, patch: IdpPatch): Promise<void> {
  const idp = await requireIdp(ctx.scope, id);
  await authorizeIdp(ctx, idp.org_id);
  const cols = toColumns(patch);
  if (patch.clientSecret !== undefined) cols.client_secret_enc = patch.clientSecret ? ctx.deps.box.encrypt(patch.clientSecret) : null;
  if (Object.keys(cols).length === 0) return;
  await ctx.scope.transaction(async (scope) => {
    await updateIdpRow(scope, id, cols);
    const fields = Object.keys(cols).map((k) => (k === 'client_secret_enc' ? 'client_secret' : k));
    await appendEvent(scope, ctx.actor, { orgId: idp.org_id, resourceType: 'idp', resourceId: id, type: 'idp.changed', payload: { fields } });
  });
  await ctx.deps.changes.publish(ctx.scope.instanceId);
}

/** Deleting an IdP removes its user links (the users stay). */
export async function deleteIdp(ctx: ServiceContext, id: string): Promise<void> {
  const idp = await requireIdp(ctx.scope, id);
  await authorizeIdp(ctx, idp.org_id);
  await ctx.scope.transaction(async (scope) => {
    await deleteIdpRow(scope, id);
    await appendEvent(scope, ctx.actor, { orgId: idp.org_id, resourceType: 'idp', resourceId: id, type: 'idp.removed', payload: { name: idp.name } });
  });
  await ctx.deps.changes.publish(ctx.scope.instanceId);
}

/** The IdP with its client secret decrypted, for the login flow's token exchange. */
export async function getIdpWithSecret(scope: Scope, id: string, box: SecretBox): Promise<IdpWithSecret | undefined> {
  const idp = await getIdp(scope, id);
  if (!idp) return undefined;
  const enc = await getIdpSecretEnc(scope, id);
  return { ...idp, clientSecret: enc ? box.decrypt(enc) : null };
}

/**
 * Links a user to their account at an IdP. The IdP must be the instance's or belong to the
 * user's own org; an external account links to one user only.
 */
export async function linkUserToIdp(
  ctx: ServiceContext,
  input: { idpId: string; externalUserId: string; userId: string; externalUsername?: string },
): Promise<void> {
  if (!input.externalUserId) throw invalidInput('externalUserId is required');
  const user = await getUser(ctx.scope, input.userId);
  if (!user) throw notFound('user', input.userId);
  await authorize(ctx, 'user.write', { orgId: user.org_id });
  // Whoever controls the external account signs in as the user.
  await authorizeActingAs(ctx, user.id);
  const idp = await requireIdp(ctx.scope, input.idpId);
  if (idp.org_id !== null && idp.org_id !== user.org_id) throw ruleViolation('idp.not_available', 'this IdP belongs to another organization');
  try {
    await ctx.scope.transaction(async (scope) => {
      await insertIdpLink(scope, {
        idp_id: input.idpId,
        external_user_id: input.externalUserId,
        user_id: input.userId,
        external_username: input.externalUsername ?? null,
      });
      await appendEvent(scope, ctx.actor, {
        orgId: user.org_id,
        resourceType: 'user',
        resourceId: user.id,
        type: 'user.idp.linked',
        payload: { idpId: input.idpId, externalUserId: input.externalUserId },
      });
    });
  } catch (err) {
    if (isUniqueViolation(err, 'user_idp_links_pkey')) throw alreadyExists('idp_link.exists', 'this external account is already linked to a user');
    throw err;
  }
}

export async function unlinkUser(ctx: ServiceContext, input: { idpId: string; externalUserId: string }): Promise<void> {
  const link = await getIdpLink(ctx.scope, input.idpId, input.externalUserId);
  if (!link) throw notFound('idp link', input.externalUserId);
  const user = await getUser(ctx.scope, link.user_id);
  const self = ctx.actor.type === 'user' && ctx.actor.userId === link.user_id;
  if (!self) await authorize(ctx, 'user.write', { orgId: user!.org_id });
  await ctx.scope.transaction(async (scope) => {
    // Users cannot lock themselves out: another link, a password or a passkey must remain.
    // (A manager may remove the last one: they can set a password or send a reset.)
    if (self && !user!.password_hash && (await countIdpLinksOfUser(scope, link.user_id)) <= 1 && (await countPasskeysOfUser(scope, link.user_id)) === 0) {
      throw ruleViolation('user.last_sign_in_method', 'this is your only way to sign in: add a password or a passkey first');
    }
    await deleteIdpLink(scope, input.idpId, input.externalUserId);
    await appendEvent(scope, ctx.actor, { orgId: user!.org_id, resourceType: 'user', resourceId: link.user_id, type: 'user.idp.unlinked', payload: input });
  });
}
