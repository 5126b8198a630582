import {
  generateAuthenticationOptions,
  generateRegistrationOptions,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
  type AuthenticationResponseJSON,
  type PublicKeyCredentialCreationOptionsJSON,
  type PublicKeyCredentialRequestOptionsJSON,
  type RegistrationResponseJSON,
} from '@simplewebauthn/server';
import { authorize } from '../authorization.js';
import { notFound, ruleViolation, invalidInput } from '../../shared/errors.js';
import { newId, newSecret } from '../../shared/ids.js';
import { appendEvent } from '../audit/repository.js';
import type { ServiceContext, ServiceDeps } from '../deps.js';
import { authorizeActingAs } from '../membership/service.js';
import type { Principal } from '../principal.js';
import { requireRecentSignIn } from '../recent-sign-in.js';
import { getUser, type UserRow } from '../user/repository.js';
import { preferredLoginName } from '../user/login-name-repository.js';
import {
  countPasskeysOfUser,
  deletePasskeyRow,
  findPasskeyByCredentialId,
  getPasskey,
  insertPasskey,
  instanceServesDomain,
  listPasskeysOfUser,
  recordPasskeyUse,
  renamePasskeyRow,
  type ChallengeRow,
} from './repository.js';
import { databaseChallenges, type ChallengeStore } from './challenge-store.js';

/**
 * Passkeys (WebAuthn) on @simplewebauthn/server. The relying party is the instance domain the
 * user is on: its RP ID is that host name and the origin must match exactly what the browser
 * reports. Challenges live server-side, expire, work once, and belong to the login interaction
 * or account session ("binding") that asked for them.
 */

/** Where a ceremony happens: the instance domain the browser is on. */
export interface RelyingParty {
  /** The host name, e.g. auth.example.com (no port). */
  rpId: string;
  /** Exactly the origin the browser is on, e.g. https://auth.example.com or http://localhost:8080 */
  origin: string;
  /** Shown by the authenticator, e.g. the org's or instance's name. */
  name: string;
}

/** How long a user has to answer the authenticator's prompt. */
const CEREMONY_MS = 5 * 60_000;
export const MAX_PASSKEYS_PER_USER = 20;
export const MAX_NAME_LENGTH = 100;

/** WebAuthn user handles: the user id as bytes, so a discoverable credential names its owner. */
const userHandle = (userId: string) => new TextEncoder().encode(userId);
const userHandleB64 = (userId: string) => Buffer.from(userId, 'utf8').toString('base64url');

async function requireHuman(ctx: Pick<ServiceContext, 'scope'>, userId: string): Promise<UserRow> {
  const user = await getUser(ctx.scope, userId);
  if (!user || user.type !== 'human') throw notFound('user', userId);
  return user;
}

/**
 * Users manage their own passkeys; managers need user.credential.write on the user's org and, as
 * for every credential, every permission the user holds (a passkey signs in as its owner).
 */
async function authorizeChange(ctx: ServiceContext, user: UserRow): Promise<void> {
  if (ctx.actor.type === 'user' && ctx.actor.userId === user.id) return;
  await authorize(ctx, 'user.credential.write', { orgId: user.org_id });
  await authorizeActingAs(ctx, user.id);
}

/** Whether a domain is the instance's own; the login passes its provider's cached answer (src/domain/sign-in-reads.ts). */
export type ServesDomain = (domain: string) => Promise<boolean>;

/**
 * What a ceremony needs of its call's context: the instance, and the deps that say where
 * challenges wait (their store, else PostgreSQL). Required, so that no caller starts a ceremony
 * in one store and finishes it in the other.
 */
export type CeremonyContext = Pick<ServiceContext, 'scope'> & { deps: Pick<ServiceDeps, 'challenges'> };

const challengesOf = (ctx: CeremonyContext): ChallengeStore => ctx.deps.challenges ?? databaseChallenges;

async function newChallenge(
  ctx: CeremonyContext,
  rp: RelyingParty,
  row: Omit<ChallengeRow, 'id' | 'challenge' | 'rp_id' | 'origin' | 'expires_at'>,
  servesDomain: ServesDomain = (domain) => instanceServesDomain(ctx.scope, domain),
): Promise<{ id: string; challenge: string }> {
  // The RP ID must be one of this instance's own domains: a caller cannot ask for another's.
  if (!(await servesDomain(rp.rpId))) throw invalidInput(`${rp.rpId} is not a domain of this instance`);
  const id = newId();
  const challenge = newSecret(32); // base64url, as clientDataJSON will carry it
  await challengesOf(ctx).put(ctx.scope, { ...row, id, challenge, rp_id: rp.rpId, origin: rp.origin, expires_at: new Date(Date.now() + CEREMONY_MS) });
  return { id, challenge };
}

/** The challenge of a ceremony, once, if it is this binding's, of this kind, and unexpired. */
async function redeemChallenge(ctx: CeremonyContext, id: string, binding: string, purpose: ChallengeRow['purpose']): Promise<ChallengeRow | undefined> {
  if (!/^\d{1,30}$/.test(id)) return undefined;
  const row = await challengesOf(ctx).take(ctx.scope, id);
  if (!row || row.binding !== binding || row.purpose !== purpose || row.expires_at.getTime() <= Date.now()) return undefined;
  return row;
}

// ---- registration ----

export interface RegistrationStart {
  challengeId: string;
  options: PublicKeyCredentialCreationOptionsJSON;
}

/**
 * Options for navigator.credentials.create(): a discoverable credential with user verification
 * (a passkey), never one the user already has on this domain.
 */
export async function startPasskeyRegistration(ctx: ServiceContext, userId: string, opts: { rp: RelyingParty; binding: string }): Promise<RegistrationStart> {
  const user = await requireHuman(ctx, userId);
  await authorizeChange(ctx, user);
  // Adding a passkey adds a way in: only after a recent sign-in (rename and remove do not need one).
  requireRecentSignIn(ctx, userId);
  const existing = await listPasskeysOfUser(ctx.scope, userId);
  if (existing.length >= MAX_PASSKEYS_PER_USER) throw ruleViolation('passkey.too_many', `a user has at most ${MAX_PASSKEYS_PER_USER} passkeys`);
  const { id, challenge } = await newChallenge(ctx, opts.rp, { purpose: 'registration', user_id: userId, binding: opts.binding, user_verification: true });
  const options = await generateRegistrationOptions({
    rpName: opts.rp.name,
    rpID: opts.rp.rpId,
    userID: userHandle(userId),
    userName: await preferredLoginName(ctx.scope, user),
    userDisplayName: user.display_name ?? ([user.given_name, user.family_name].filter(Boolean).join(' ') || user.username),
    challenge: Buffer.from(challenge, 'base64url'),
    timeout: CEREMONY_MS,
    attestationType: 'none',
    excludeCredentials: existing.filter((p) => p.rp_id === opts.rp.rpId).map((p) => ({ id: p.credential_id, transports: p.transports })),
    authenticatorSelection: { residentKey: 'required', userVerification: 'required' },
  });
  return { challengeId: id, options };
}

export interface RegisteredPasskey {
  id: string;
  name: string;
}

/** Verifies the authenticator's answer and stores the credential. */
export async function finishPasskeyRegistration(
  ctx: ServiceContext,
  userId: string,
  input: {
    challengeId: string;
    binding: string;
    response: unknown;
    name?: string;
  },
): Promise<RegisteredPasskey> {
  const user = await requireHuman(ctx, userId);
  await authorizeChange(ctx, user);
  // Adding a passkey adds a way in: only after a recent sign-in (rename and remove do not need one).
  requireRecentSignIn(ctx, userId);
  const challenge = await redeemChallenge(ctx, input.challengeId, input.binding, 'registration');
  if (!challenge || challenge.user_id !== userId)
    throw ruleViolation('passkey.challenge_invalid', 'the passkey ceremony expired or was not started here; try again');
  let verified;
  try {
    verified = await verifyRegistrationResponse({
      response: input.response as RegistrationResponseJSON,
      expectedChallenge: challenge.challenge,
      expectedOrigin: challenge.origin,
      expectedRPID: challenge.rp_id,
      requireUserVerification: true,
    });
  } catch (err) {
    throw ruleViolation('passkey.registration_failed', `the passkey could not be verified: ${(err as Error).message}`);
  }
  if (!verified.verified) throw ruleViolation('passkey.registration_failed', 'the passkey could not be verified');
  const info = verified.registrationInfo;
  const name = cleanName(input.name) ?? `Passkey ${(await countPasskeysOfUser(ctx.scope, userId)) + 1}`;
  const id = newId();
  await ctx.scope.transaction(async (scope) => {
    if (await findPasskeyByCredentialId(scope, info.credential.id)) throw ruleViolation('passkey.already_registered', 'this passkey is registered already');
    await insertPasskey(scope, {
      id,
      user_id: userId,
      credential_id: info.credential.id,
      public_key: Buffer.from(info.credential.publicKey),
      sign_count: info.credential.counter,
      backup_eligible: info.credentialDeviceType === 'multiDevice',
      backed_up: info.credentialBackedUp,
      transports: (input.response as RegistrationResponseJSON).response?.transports?.filter((t) => typeof t === 'string' && t.length <= 32).slice(0, 8) ?? [],
      aaguid: info.aaguid,
      rp_id: challenge.rp_id,
      name,
    });
    await appendEvent(scope, ctx.actor, {
      orgId: user.org_id,
      resourceType: 'user',
      resourceId: userId,
      type: 'user.passkey.added',
      payload: { passkeyId: id, name, rpId: challenge.rp_id, backupEligible: info.credentialDeviceType === 'multiDevice' },
    });
  });
  return { id, name };
}

function cleanName(name: string | undefined): string | undefined {
  const n = name?.replace(/\s+/g, ' ').trim();
  if (!n) return undefined;
  if (n.length > MAX_NAME_LENGTH) throw invalidInput(`a passkey name has at most ${MAX_NAME_LENGTH} characters`);
  return n;
}

// ---- authentication ----

export interface AuthenticationStart {
  challengeId: string;
  options: PublicKeyCredentialRequestOptionsJSON;
}

/**
 * Options for navigator.credentials.get(). Without a user: passwordless sign-in with a
 * discoverable credential, user verification required. With a user: a second factor after the
 * password, limited to that user's passkeys on this domain (presence is enough there).
 */
export async function startPasskeyAuthentication(
  ctx: CeremonyContext,
  opts: { rp: RelyingParty; binding: string; userId?: string; servesDomain?: ServesDomain },
): Promise<AuthenticationStart> {
  const passwordless = opts.userId === undefined;
  const allow = passwordless ? [] : (await listPasskeysOfUser(ctx.scope, opts.userId!)).filter((p) => p.rp_id === opts.rp.rpId);
  const { id, challenge } = await newChallenge(
    ctx,
    opts.rp,
    {
      purpose: 'authentication',
      user_id: opts.userId ?? null,
      binding: opts.binding,
      user_verification: passwordless,
    },
    opts.servesDomain,
  );
  const options = await generateAuthenticationOptions({
    rpID: opts.rp.rpId,
    challenge: Buffer.from(challenge, 'base64url'),
    timeout: CEREMONY_MS,
    userVerification: passwordless ? 'required' : 'preferred',
    ...(passwordless ? {} : { allowCredentials: allow.map((p) => ({ id: p.credential_id, transports: p.transports })) }),
  });
  return { challengeId: id, options };
}

export type PasskeyCheck =
  | { ok: true; userId: string; passkeyId: string; userVerified: boolean }
  | { ok: false; reason: 'challenge_invalid' | 'unknown_credential' | 'wrong_user' | 'not_verified' | 'counter_regressed' };

const owner = (user: Pick<UserRow, 'id' | 'org_id'>): Principal => ({ type: 'user', userId: user.id, orgId: user.org_id });

/**
 * Checks an assertion: the credential is looked up in this instance only, must belong to the
 * expected user (second factor) or to the user its handle names (passwordless), and must be
 * signed over this ceremony's challenge, for this RP ID and origin, with user verification
 * where the ceremony required it. A signed counter that does not move forward means a cloned
 * authenticator: refused, and recorded as `user.passkey.counter_regressed`.
 */
export async function verifyPasskeyAssertion(
  ctx: CeremonyContext,
  input: {
    challengeId: string;
    binding: string;
    response: unknown;
  },
): Promise<PasskeyCheck> {
  const challenge = await redeemChallenge(ctx, input.challengeId, input.binding, 'authentication');
  if (!challenge) return { ok: false, reason: 'challenge_invalid' };
  const response = input.response as AuthenticationResponseJSON;
  const credentialId = typeof response?.id === 'string' ? response.id : '';
  const passkey = credentialId ? await findPasskeyByCredentialId(ctx.scope, credentialId) : undefined;
  if (!passkey) return { ok: false, reason: 'unknown_credential' };
  const user = await getUser(ctx.scope, passkey.user_id);
  if (!user) return { ok: false, reason: 'unknown_credential' };
  const handle = response.response?.userHandle;
  if ((challenge.user_id !== null && challenge.user_id !== passkey.user_id) || (handle && handle !== userHandleB64(passkey.user_id))) {
    return { ok: false, reason: 'wrong_user' };
  }
  const stored = Number(passkey.sign_count);
  let result: Awaited<ReturnType<typeof verifyAuthenticationResponse>> | undefined;
  try {
    result = await verifyAuthenticationResponse({
      response,
      expectedChallenge: challenge.challenge,
      expectedOrigin: challenge.origin,
      expectedRPID: challenge.rp_id,
      // Counters are compared below, only once the signature is known to be genuine.
      credential: { id: passkey.credential_id, publicKey: new Uint8Array(passkey.public_key), counter: 0, transports: passkey.transports },
      requireUserVerification: challenge.user_verification,
    });
  } catch {
    result = undefined;
  }
  const fail = async (reason: 'not_verified' | 'counter_regressed', payload: Record<string, unknown> = {}) => {
    await appendEvent(ctx.scope, owner(user), {
      orgId: user.org_id,
      resourceType: 'user',
      resourceId: user.id,
      type: reason === 'counter_regressed' ? 'user.passkey.counter_regressed' : 'user.passkey.check.failed',
      payload: { passkeyId: passkey.id, ...payload },
    });
    return { ok: false as const, reason };
  };
  if (!result?.verified) return fail('not_verified');
  const next = result.authenticationInfo.newCounter;
  if ((next > 0 || stored > 0) && next <= stored) return fail('counter_regressed', { storedCounter: stored, reportedCounter: next });
  const recorded = await ctx.scope.transaction(async (scope) => {
    if (!(await recordPasskeyUse(scope, passkey.id, stored, next, result.authenticationInfo.credentialBackedUp))) return false;
    await appendEvent(scope, owner(user), {
      orgId: user.org_id,
      resourceType: 'user',
      resourceId: user.id,
      type: 'user.passkey.checked',
      payload: { passkeyId: passkey.id, passwordless: challenge.user_id === null },
    });
    return true;
  });
  // Another use of the same credential won the race with this counter value.
  if (!recorded) return fail('counter_regressed', { storedCounter: stored, reportedCounter: next });
  return { ok: true, userId: user.id, passkeyId: passkey.id, userVerified: result.authenticationInfo.userVerified };
}

// ---- management ----

export async function renamePasskey(ctx: ServiceContext, userId: string, passkeyId: string, name: string): Promise<void> {
  const user = await requireHuman(ctx, userId);
  await authorizeChange(ctx, user);
  const clean = cleanName(name);
  if (!clean) throw invalidInput('a passkey needs a name');
  await ctx.scope.transaction(async (scope) => {
    if ((await renamePasskeyRow(scope, userId, passkeyId, clean)) === 0) throw notFound('passkey', passkeyId);
    await appendEvent(scope, ctx.actor, {
      orgId: user.org_id,
      resourceType: 'user',
      resourceId: userId,
      type: 'user.passkey.renamed',
      payload: { passkeyId, name: clean },
    });
  });
}

/** Removes a passkey: from then on it signs in nowhere (e.g. a manager after a lost device). */
export async function removePasskey(ctx: ServiceContext, userId: string, passkeyId: string): Promise<void> {
  const user = await requireHuman(ctx, userId);
  await authorizeChange(ctx, user);
  await ctx.scope.transaction(async (scope) => {
    const passkey = await getPasskey(scope, userId, passkeyId);
    if (!passkey || (await deletePasskeyRow(scope, userId, passkeyId)) === 0) throw notFound('passkey', passkeyId);
    await appendEvent(scope, ctx.actor, {
      orgId: user.org_id,
      resourceType: 'user',
      resourceId: userId,
      type: 'user.passkey.removed',
      payload: { passkeyId, name: passkey.name },
    });
  });
}

export async function hasPasskey(ctx: Pick<ServiceContext, 'scope'>, userId: string, rpId?: string): Promise<boolean> {
  const all = await listPasskeysOfUser(ctx.scope, userId);
  return rpId === undefined ? all.length > 0 : all.some((p) => p.rp_id === rpId);
}
