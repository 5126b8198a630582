import { exportJWK, exportPKCS8, generateKeyPair } from 'jose';
import { authorize } from '../authorization.js';
import { invalidInput, notFound, ruleViolation } from '../../shared/errors.js';
import { sha256 } from '../../shared/crypto.js';
import { newId, newSecret } from '../../shared/ids.js';
import { appendEvent } from '../audit/repository.js';
import type { ServiceContext } from '../deps.js';
import { authorizeActingAs } from '../membership/service.js';
import { deleteMachineKey, deletePersonalAccessToken, getUser, insertMachineKey, insertPersonalAccessToken, updateUser, type UserRow } from './repository.js';

/**
 * Machine credentials: client secret, key pairs and personal access tokens. Each secret is shown
 * once. Creating one makes the caller the machine user, so it needs all of that user's permissions
 * too (authorizeActingAs); removing one takes nothing away from anybody but the user.
 */
async function requireMachine(ctx: ServiceContext, userId: string, opts: { creates?: boolean } = {}): Promise<UserRow> {
  const user = await getUser(ctx.scope, userId);
  if (!user) throw notFound('user', userId);
  await authorize(ctx, 'user.credential.write', { orgId: user.org_id });
  if (opts.creates) await authorizeActingAs(ctx, userId);
  if (user.type !== 'machine') throw ruleViolation('user.not_machine', 'only machine users have client secrets, keys and personal access tokens');
  return user;
}

function futureDate(expiresAt: Date | string | undefined): Date | null {
  if (expiresAt === undefined) return null;
  const d = new Date(expiresAt);
  if (Number.isNaN(d.getTime()) || d.getTime() <= Date.now()) throw invalidInput('expiresAt must be a date in the future');
  return d;
}

/** A new client secret for client_credentials (client_id = the username); replaces any previous one. */
export async function generateMachineSecret(ctx: ServiceContext, userId: string, secret?: string): Promise<{ clientId: string; clientSecret: string }> {
  // A chosen secret is for configuration as code (taken from the environment); otherwise one is generated.
  if (secret !== undefined && (secret.length < 16 || secret.length > 256)) throw invalidInput('a machine secret must be 16 to 256 characters');
  const user = await requireMachine(ctx, userId, { creates: true });
  const clientSecret = secret ?? newSecret(32);
  const hash = await ctx.deps.hasher.hash(clientSecret);
  await ctx.scope.transaction(async (scope) => {
    await updateUser(scope, userId, { client_secret_hash: hash });
    await appendEvent(scope, ctx.actor, { orgId: user.org_id, resourceType: 'user', resourceId: userId, type: 'user.machine.secret.set' });
  });
  // A machine user is an OIDC client: the provider caches it until told.
  await ctx.deps.changes.publish(ctx.scope.instanceId);
  return { clientId: user.username, clientSecret };
}

export async function removeMachineSecret(ctx: ServiceContext, userId: string): Promise<void> {
  const user = await requireMachine(ctx, userId);
  await ctx.scope.transaction(async (scope) => {
    await updateUser(scope, userId, { client_secret_hash: null });
    await appendEvent(scope, ctx.actor, { orgId: user.org_id, resourceType: 'user', resourceId: userId, type: 'user.machine.secret.removed' });
  });
  await ctx.deps.changes.publish(ctx.scope.instanceId);
}

export interface MachineKey {
  keyId: string;
  /** PKCS#8 PEM of the private key: returned once, never stored. */
  privateKeyPem: string;
  /** The key file in ZITADEL's format ({ type, keyId, key, userId }), for JWT profile clients. */
  keyJson: string;
  publicJwk: Record<string, unknown>;
  expiresAt: Date | null;
}

/** An RS256 key pair for the JWT profile grant; only the public half is stored. */
export async function addMachineKey(ctx: ServiceContext, userId: string, opts: { expiresAt?: Date | string } = {}): Promise<MachineKey> {
  const expiresAt = futureDate(opts.expiresAt);
  const user = await requireMachine(ctx, userId, { creates: true });
  const { publicKey, privateKey } = await generateKeyPair('RS256', { extractable: true, modulusLength: 2048 });
  const keyId = newId();
  const publicJwk = { ...(await exportJWK(publicKey)), kid: keyId, alg: 'RS256', use: 'sig' };
  const privateKeyPem = await exportPKCS8(privateKey);
  await ctx.scope.transaction(async (scope) => {
    await insertMachineKey(scope, { id: keyId, user_id: userId, public_jwk: JSON.stringify(publicJwk), expires_at: expiresAt });
    await appendEvent(scope, ctx.actor, {
      orgId: user.org_id,
      resourceType: 'user',
      resourceId: userId,
      type: 'user.machine.key.added',
      payload: { keyId, expiresAt },
    });
  });
  await ctx.deps.changes.publish(ctx.scope.instanceId);
  const keyJson = JSON.stringify({
    type: 'serviceaccount',
    keyId,
    key: privateKeyPem,
    userId,
    ...(expiresAt ? { expirationDate: expiresAt.toISOString() } : {}),
  });
  return { keyId, privateKeyPem, keyJson, publicJwk, expiresAt };
}

export async function removeMachineKey(ctx: ServiceContext, userId: string, keyId: string): Promise<void> {
  const user = await requireMachine(ctx, userId);
  await ctx.scope.transaction(async (scope) => {
    if ((await deleteMachineKey(scope, userId, keyId)) === 0) throw notFound('machine key', keyId);
    await appendEvent(scope, ctx.actor, { orgId: user.org_id, resourceType: 'user', resourceId: userId, type: 'user.machine.key.removed', payload: { keyId } });
  });
  await ctx.deps.changes.publish(ctx.scope.instanceId);
}

/** A bearer token for the APIs; its SHA-256 is stored, so a leaked table yields nothing usable. */
export async function addPersonalAccessToken(
  ctx: ServiceContext,
  userId: string,
  opts: { expiresAt?: Date | string; scopes?: string[] } = {},
): Promise<{ id: string; token: string; expiresAt: Date | null }> {
  const expiresAt = futureDate(opts.expiresAt);
  const user = await requireMachine(ctx, userId, { creates: true });
  const id = newId();
  const token = newSecret(32);
  await ctx.scope.transaction(async (scope) => {
    await insertPersonalAccessToken(scope, { id, user_id: userId, token_hash: sha256(token), scopes: opts.scopes ?? [], expires_at: expiresAt });
    await appendEvent(scope, ctx.actor, {
      orgId: user.org_id,
      resourceType: 'user',
      resourceId: userId,
      type: 'user.pat.added',
      payload: { tokenId: id, expiresAt },
    });
  });
  return { id, token, expiresAt };
}

export async function removePersonalAccessToken(ctx: ServiceContext, userId: string, tokenId: string): Promise<void> {
  const user = await requireMachine(ctx, userId);
  await ctx.scope.transaction(async (scope) => {
    if ((await deletePersonalAccessToken(scope, userId, tokenId)) === 0) throw notFound('personal access token', tokenId);
    await appendEvent(scope, ctx.actor, { orgId: user.org_id, resourceType: 'user', resourceId: userId, type: 'user.pat.removed', payload: { tokenId } });
  });
}
