import type { z } from 'zod';
import type { Scope } from '../../db/scope.js';
import { authorize } from '../authorization.js';
import { invalidInput, notFound } from '../../shared/errors.js';
import { appendEvent } from '../audit/repository.js';
import type { ServiceContext } from '../deps.js';
import { getOrg } from '../org/repository.js';
import { deletePolicyRow, getPolicyRow, upsertPolicyRow } from './repository.js';
import { builtInDefault, policyPatchSchema, policySchemas, type PolicyKind, type PolicySettings } from './schemas.js';

export { checkPasswordComplexity, MAX_PASSWORD_LENGTH } from './password.js';

function parseSettings<K extends PolicyKind>(kind: K, settings: unknown, schema: z.ZodType = policySchemas[kind]): PolicySettings<K> {
  const parsed = schema.safeParse(settings);
  if (!parsed.success) {
    throw invalidInput(`invalid ${kind} policy: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`, {
      issues: parsed.error.issues,
    });
  }
  return parsed.data as PolicySettings<K>;
}

/** The policy in force for an org: its override, else the instance default, else the built-in one. */
export async function getEffectivePolicy<K extends PolicyKind>(scope: Scope, kind: K, orgId?: string | null): Promise<PolicySettings<K>> {
  const row = (orgId ? await getPolicyRow(scope, kind, orgId) : undefined) ?? (await getPolicyRow(scope, kind, null));
  // Stored rows are re-parsed so settings added to the schema later get their defaults.
  return row ? (policySchemas[kind].parse(row.settings) as PolicySettings<K>) : builtInDefault(kind);
}

/** The org's own override, or undefined when it follows the instance default. */
export async function getOrgPolicyOverride<K extends PolicyKind>(scope: Scope, orgId: string, kind: K): Promise<PolicySettings<K> | undefined> {
  const row = await getPolicyRow(scope, kind, orgId);
  return row ? (policySchemas[kind].parse(row.settings) as PolicySettings<K>) : undefined;
}

export async function setInstancePolicy<K extends PolicyKind>(ctx: ServiceContext, kind: K, settings: unknown): Promise<PolicySettings<K>> {
  const parsed = parseSettings(kind, settings);
  await authorize(ctx, 'iam.policy.write', {});
  await ctx.scope.transaction(async (scope) => {
    await upsertPolicyRow(scope, kind, null, parsed);
    await appendEvent(scope, ctx.actor, { resourceType: 'policy', resourceId: kind, type: `instance.policy.${kind}.set`, payload: { settings: parsed } });
  });
  await ctx.deps.changes.publish(ctx.scope.instanceId);
  return parsed;
}

/**
 * Who may change an org's policy of this kind. The domain policy decides whether the org's
 * domains need proof and how far its usernames must be unique: an org that switched validation
 * off could claim any domain, and with it domain discovery across the instance. As in ZITADEL,
 * it is an instance administrator's setting, for every org.
 */
async function authorizeOrgPolicyChange(ctx: ServiceContext, orgId: string, kind: PolicyKind, permission: 'policy.write' | 'policy.delete'): Promise<void> {
  if (kind === 'domain') await authorize(ctx, 'iam.policy.write', {});
  else await authorize(ctx, permission, { orgId });
}

/** Replaces the org's override as a whole object (fields left out take their defaults, not the instance's). */
export async function setOrgPolicy<K extends PolicyKind>(ctx: ServiceContext, orgId: string, kind: K, settings: unknown): Promise<PolicySettings<K>> {
  const parsed = parseSettings(kind, settings);
  await authorizeOrgPolicyChange(ctx, orgId, kind, 'policy.write');
  await ctx.scope.transaction(async (scope) => {
    if (!(await getOrg(scope, orgId))) throw notFound('org', orgId);
    await upsertPolicyRow(scope, kind, orgId, parsed);
    await appendEvent(scope, ctx.actor, {
      orgId,
      resourceType: 'policy',
      resourceId: `${orgId}:${kind}`,
      type: `org.policy.${kind}.set`,
      payload: { settings: parsed },
    });
  });
  await ctx.deps.changes.publish(ctx.scope.instanceId);
  return parsed;
}

/**
 * Changes only the fields in `patch`; the others keep their current values. For an org that
 * follows the instance default, the current values are the default's, and the org gets its own
 * policy from them. The read and the write are serialised, so concurrent patches of different
 * fields all take effect.
 */
export async function patchPolicy<K extends PolicyKind>(ctx: ServiceContext, orgId: string | null, kind: K, patch: unknown): Promise<PolicySettings<K>> {
  const fields = parseSettings(kind, patch, policyPatchSchema(kind)) as Record<string, unknown>;
  if (orgId) await authorizeOrgPolicyChange(ctx, orgId, kind, 'policy.write');
  else await authorize(ctx, 'iam.policy.write', {});
  const merged = await ctx.scope.transaction(async (scope) => {
    await scope.lock(`policy:${orgId ?? ''}:${kind}`);
    if (orgId && !(await getOrg(scope, orgId))) throw notFound('org', orgId);
    const settings = parseSettings(kind, { ...(await getEffectivePolicy(scope, kind, orgId)), ...fields });
    await upsertPolicyRow(scope, kind, orgId, settings);
    await appendEvent(scope, ctx.actor, {
      orgId,
      resourceType: 'policy',
      resourceId: orgId ? `${orgId}:${kind}` : kind,
      type: `${orgId ? 'org' : 'instance'}.policy.${kind}.changed`,
      payload: { fields: Object.keys(fields), settings },
    });
    return settings;
  });
  await ctx.deps.changes.publish(ctx.scope.instanceId);
  return merged;
}

/** Removes the org's override, so the instance default applies again. */
export async function resetOrgPolicy(ctx: ServiceContext, orgId: string, kind: PolicyKind): Promise<void> {
  await authorizeOrgPolicyChange(ctx, orgId, kind, 'policy.delete');
  await ctx.scope.transaction(async (scope) => {
    if (!(await getOrg(scope, orgId))) throw notFound('org', orgId);
    if ((await deletePolicyRow(scope, kind, orgId)) === 0) return;
    await appendEvent(scope, ctx.actor, { orgId, resourceType: 'policy', resourceId: `${orgId}:${kind}`, type: `org.policy.${kind}.reset` });
  });
  await ctx.deps.changes.publish(ctx.scope.instanceId);
}
