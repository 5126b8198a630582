import { authorize } from '../authorization.js';
import type { Scope } from '../../db/scope.js';
import { isUniqueViolation } from '../../db/scope.js';
import { alreadyExists, invalidInput, notFound, permissionDenied, ruleViolation } from '../../shared/errors.js';
import type { SecretBox } from '../../shared/crypto.js';
import { appendEvent } from '../audit/repository.js';
import type { ServiceContext } from '../deps.js';
import { normalizeDomain } from '../org/domain-name.js';
import {
  clearPrimaryInstanceDomain,
  deleteInstanceDomain,
  deleteInstanceRow,
  getInstance,
  insertInstanceDomain,
  instanceServingDomain,
  listInstanceDomains,
  makePrimaryInstanceDomain,
  updateInstance,
  type InstanceRow,
} from './repository.js';

async function publishAfter<R>(ctx: ServiceContext, fn: (scope: Scope) => Promise<R>): Promise<R> {
  const result = await ctx.scope.transaction(fn);
  await ctx.deps.changes.publish(ctx.scope.instanceId);
  return result;
}

export type OidcSettings = {
  accessTokenLifetimeS?: number;
  idTokenLifetimeS?: number;
  refreshTokenIdleS?: number;
  refreshTokenAbsoluteS?: number;
  refreshTokenReuseGraceS?: number;
};

const lifetime = (name: string, v: number | undefined, max: number) => {
  if (v === undefined) return undefined;
  if (!Number.isInteger(v) || v < 60 || v > max) throw invalidInput(`${name} must be a whole number of seconds between 60 and ${max}`);
  return v;
};

export async function updateOidcSettings(ctx: ServiceContext, s: OidcSettings): Promise<void> {
  const year = 366 * 86400;
  const patch: Partial<InstanceRow> = {};
  const at = lifetime('accessTokenLifetimeS', s.accessTokenLifetimeS, year);
  if (at !== undefined) patch.access_token_lifetime_s = at;
  const it = lifetime('idTokenLifetimeS', s.idTokenLifetimeS, year);
  if (it !== undefined) patch.id_token_lifetime_s = it;
  const ri = lifetime('refreshTokenIdleS', s.refreshTokenIdleS, 10 * year);
  if (ri !== undefined) patch.refresh_token_idle_s = ri;
  const ra = lifetime('refreshTokenAbsoluteS', s.refreshTokenAbsoluteS, 10 * year);
  if (ra !== undefined) patch.refresh_token_absolute_s = ra;
  const grace = s.refreshTokenReuseGraceS;
  if (grace !== undefined) {
    if (!Number.isInteger(grace) || grace < 0 || grace > 300) throw invalidInput('refreshTokenReuseGraceS must be a whole number of seconds between 0 and 300');
    patch.refresh_token_reuse_grace_s = grace;
  }
  await authorize(ctx, 'iam.write', {});
  if (Object.keys(patch).length === 0) return;
  await publishAfter(ctx, async (scope) => {
    const cur = (await getInstance(scope))!;
    if ((patch.refresh_token_idle_s ?? cur.refresh_token_idle_s) > (patch.refresh_token_absolute_s ?? cur.refresh_token_absolute_s)) {
      throw ruleViolation('instance.refresh_idle_exceeds_absolute', 'the refresh token idle lifetime cannot exceed its absolute lifetime');
    }
    await updateInstance(scope, patch);
    await appendEvent(scope, ctx.actor, { resourceType: 'instance', resourceId: scope.instanceId, type: 'instance.oidc_settings.changed', payload: { ...s } });
  });
}

export type SmtpSettings = { host: string; port: number; tls: boolean; user?: string | null; password?: string | null; fromAddress: string; fromName: string };

/** Sets the SMTP transport; the password is encrypted, and left unchanged when not given. */
export async function setSmtpSettings(ctx: ServiceContext, s: SmtpSettings): Promise<void> {
  if (!s.host?.trim()) throw invalidInput('smtp host is required');
  if (!Number.isInteger(s.port) || s.port < 1 || s.port > 65535) throw invalidInput('smtp port must be 1 to 65535');
  if (!/^[^\s@]+@[^\s@]+$/.test(s.fromAddress ?? '')) throw invalidInput('smtp fromAddress must be an email address');
  await authorize(ctx, 'iam.write', {});
  await publishAfter(ctx, async (scope) => {
    await updateInstance(scope, {
      smtp_host: s.host.trim(),
      smtp_port: s.port,
      smtp_tls: s.tls,
      smtp_user: s.user ?? null,
      ...(s.password !== undefined ? { smtp_password_enc: s.password ? ctx.deps.box.encrypt(s.password) : null } : {}),
      smtp_from_address: s.fromAddress,
      smtp_from_name: s.fromName ?? '',
    });
    await appendEvent(scope, ctx.actor, {
      resourceType: 'instance',
      resourceId: scope.instanceId,
      type: 'instance.smtp.changed',
      payload: { host: s.host, port: s.port, tls: s.tls, user: s.user ?? null, fromAddress: s.fromAddress, passwordChanged: s.password !== undefined },
    });
  });
}

/** The SMTP settings with the password decrypted, for the mailer; undefined when none are set. */
export async function getSmtpSettings(scope: Scope, box: SecretBox): Promise<(SmtpSettings & { password: string | null }) | undefined> {
  const i = await getInstance(scope);
  if (!i?.smtp_host) return undefined;
  return {
    host: i.smtp_host,
    port: i.smtp_port ?? 25,
    tls: i.smtp_tls,
    user: i.smtp_user,
    password: i.smtp_password_enc ? box.decrypt(i.smtp_password_enc) : null,
    fromAddress: i.smtp_from_address ?? '',
    fromName: i.smtp_from_name ?? '',
  };
}

const domainTaken = (domain: string) => alreadyExists('instance_domain.taken', `domain ${domain} is already served by an instance`);

/*
 * Instance domains route traffic to the instance, so changing them needs iam.domain.write: the
 * system (System API, CLI) always has it; of the manager roles only IAM_OWNER does, for its own
 * instance (the scope of the call). ZITADEL keeps custom domains to system users; an operator
 * who wants that here takes iam.domain.write out of IAM_OWNER under `roles:`.
 */

export async function addInstanceDomain(ctx: ServiceContext, domainName: string, opts: { primary?: boolean } = {}): Promise<void> {
  const domain = normalizeDomain(domainName);
  await authorize(ctx, 'iam.domain.write', {});
  try {
    await publishAfter(ctx, async (scope) => {
      // Unique across the installation: this one lookup deliberately looks past the instance.
      const servedBy = await instanceServingDomain(scope, domain);
      if (servedBy === scope.instanceId) throw alreadyExists('instance_domain.exists', `the instance already has the domain ${domain}`);
      if (servedBy) throw domainTaken(domain);
      if (opts.primary) await clearPrimaryInstanceDomain(scope);
      await insertInstanceDomain(scope, { domain, is_primary: opts.primary ?? false });
      await appendEvent(scope, ctx.actor, {
        resourceType: 'instance',
        resourceId: scope.instanceId,
        type: 'instance.domain.added',
        payload: { domain, primary: opts.primary ?? false },
      });
    });
  } catch (err) {
    if (isUniqueViolation(err, 'instance_domains_pkey')) throw domainTaken(domain);
    throw err;
  }
}

export async function setPrimaryInstanceDomain(ctx: ServiceContext, domainName: string): Promise<void> {
  const domain = normalizeDomain(domainName);
  await authorize(ctx, 'iam.domain.write', {});
  await publishAfter(ctx, async (scope) => {
    const row = (await listInstanceDomains(scope)).find((d) => d.domain === domain);
    if (!row) throw notFound('instance domain', domain);
    if (row.is_primary) return;
    await makePrimaryInstanceDomain(scope, domain);
    await appendEvent(scope, ctx.actor, { resourceType: 'instance', resourceId: scope.instanceId, type: 'instance.domain.primary_set', payload: { domain } });
  });
}

/**
 * Stops serving the instance at a domain. Never its last or primary domain, nor a generated one;
 * `servedAt`, the host the caller's own request came in on (the console's), is refused too, so
 * an admin cannot cut off the page they are using.
 */
export async function removeInstanceDomain(ctx: ServiceContext, domainName: string, opts: { servedAt?: string } = {}): Promise<void> {
  const domain = normalizeDomain(domainName);
  await authorize(ctx, 'iam.domain.write', {});
  await publishAfter(ctx, async (scope) => {
    const domains = await listInstanceDomains(scope);
    const row = domains.find((d) => d.domain === domain);
    if (!row) throw notFound('instance domain', domain);
    if (domains.length === 1) throw ruleViolation('instance_domain.last', 'the last domain of an instance cannot be removed');
    if (row.is_primary) throw ruleViolation('instance_domain.primary', 'the primary domain cannot be removed; make another domain primary first');
    if (row.is_generated) throw ruleViolation('instance_domain.generated', 'a generated domain cannot be removed');
    if (opts.servedAt !== undefined && opts.servedAt.toLowerCase().replace(/\.$/, '') === domain) {
      throw ruleViolation('instance_domain.current', 'this request came in on this domain; remove it from another domain of the instance');
    }
    await deleteInstanceDomain(scope, domain);
    await appendEvent(scope, ctx.actor, { resourceType: 'instance', resourceId: scope.instanceId, type: 'instance.domain.removed', payload: { domain } });
  });
}

export async function renameInstance(ctx: ServiceContext, name: string): Promise<void> {
  if (!name.trim()) throw invalidInput('an instance needs a name');
  await authorize(ctx, 'iam.write', {});
  await publishAfter(ctx, async (scope) => {
    await updateInstance(scope, { name: name.trim() });
    await appendEvent(scope, ctx.actor, { resourceType: 'instance', resourceId: scope.instanceId, type: 'instance.renamed', payload: { name } });
  });
}

/**
 * Deletes the instance and, by cascade, everything in it, its audit trail included, and its
 * state outside the database. System only.
 */
export async function deleteInstance(ctx: ServiceContext): Promise<void> {
  if (ctx.actor.type !== 'system') throw permissionDenied('system.instance.delete');
  const instanceId = ctx.scope.instanceId;
  await ctx.scope.transaction(async (scope) => {
    if (!(await getInstance(scope))) throw notFound('instance', instanceId);
    await deleteInstanceRow(scope);
  });
  await ctx.deps.changes.publish(instanceId);
  // Codes, tokens, interactions and throttle counters in Redis go now, not when their TTLs run out.
  await ctx.deps.shortLivedState?.forgetInstance(instanceId);
}
