import type { Knex } from 'knex';
import { Scope } from '../../db/scope.js';
import { newId, newSecret } from '../../shared/ids.js';
import { invalidInput } from '../../shared/errors.js';
import { createSigningKey } from '../signing-key/service.js';
import { appendEvent } from '../audit/repository.js';
import type { ServiceDeps } from '../deps.js';
import { insertMembership } from '../membership/repository.js';
import { insertOrg, insertOrgDomain, orgSlug } from '../org/repository.js';
import { builtInDefault, policyKinds } from '../policy/schemas.js';
import { insertUser } from '../user/repository.js';
import { systemPrincipal, type Principal } from '../principal.js';
import { upsertPolicyRow } from '../policy/repository.js';
import { insertInstance, insertInstanceDomain, listInstanceIds, setDefaultOrg } from './repository.js';

export interface NewInstance {
  name: string;
  /** The first one is primary. */
  domains: string[];
  orgName: string;
  admin: { username: string; email: string; password?: string };
  id?: string;
}

export interface CreatedInstance {
  instanceId: string;
  orgId: string;
  adminUserId: string;
  /** what the admin types on the login page: username@{the first org's primary domain} */
  adminLoginName: string;
  /** Set when the admin password was generated; shown once, never stored in plain text. */
  generatedPassword?: string;
}

/**
 * Creates an instance with its domains, default policies, first org (with its generated
 * domain), an IAM_OWNER admin and an active signing key, all in one transaction.
 */
export async function createInstance(knex: Knex, deps: ServiceDeps, input: NewInstance, actor: Principal = systemPrincipal): Promise<CreatedInstance> {
  if (input.domains.length === 0) throw invalidInput('an instance needs at least one domain');
  const instanceId = input.id ?? newId();
  const orgId = newId();
  const adminUserId = newId();
  const generatedPassword = input.admin.password ? undefined : newSecret(18);
  const orgDomain = `${orgSlug(input.orgName)}.${input.domains[0]}`;
  const passwordHash = await deps.hasher.hash(input.admin.password || generatedPassword!);

  await knex.transaction(async (trx) => {
    await insertInstance(trx, { id: instanceId, name: input.name });
    const scope = new Scope(trx, instanceId);
    for (const [i, domain] of input.domains.entries()) {
      await insertInstanceDomain(scope, { domain, is_primary: i === 0 });
    }
    for (const kind of policyKinds) {
      await upsertPolicyRow(scope, kind, null, builtInDefault(kind));
    }
    await insertOrg(scope, { id: orgId, name: input.orgName });
    await insertOrgDomain(scope, {
      org_id: orgId,
      domain: orgDomain,
      is_verified: true,
      is_primary: true,
      is_generated: true,
    });
    await setDefaultOrg(scope, orgId);
    await insertUser(scope, {
      id: adminUserId,
      org_id: orgId,
      type: 'human',
      username: input.admin.username,
      state: 'active',
      email: input.admin.email,
      email_verified: true,
      password_hash: passwordHash,
      password_changed_at: new Date(),
      display_name: input.admin.username,
    });
    await insertMembership(scope, { user_id: adminUserId, level: 'instance', org_id: null, project_id: null, project_grant_id: null, roles: ['IAM_OWNER'] });
    await createSigningKey(scope, deps.box, 'RS256', 'active');
    await appendEvent(scope, actor, {
      resourceType: 'instance',
      resourceId: instanceId,
      type: 'instance.added',
      payload: { name: input.name, domains: input.domains },
    });
  });
  // Hosts that answered 404 before (host resolution keeps misses) are looked up again, in every process.
  await deps.changes.publish(instanceId);
  return { instanceId, orgId, adminUserId, adminLoginName: `${input.admin.username}@${orgDomain}`, generatedPassword };
}

/** On the first start, creates the first instance from configuration. */
export async function bootstrapFirstInstance(knex: Knex, deps: ServiceDeps): Promise<CreatedInstance | undefined> {
  if ((await listInstanceIds(knex)).length > 0) return undefined;
  const first = deps.config.firstInstance;
  return createInstance(knex, deps, {
    name: first.name,
    domains: first.domains,
    orgName: first.orgName,
    admin: { username: first.admin.username, email: first.admin.email, password: first.admin.password || undefined },
  });
}

export {
  addInstanceDomain,
  deleteInstance,
  getSmtpSettings,
  removeInstanceDomain,
  renameInstance,
  setPrimaryInstanceDomain,
  setSmtpSettings,
  updateOidcSettings,
  type OidcSettings,
  type SmtpSettings,
} from './settings.js';
