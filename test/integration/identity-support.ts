import type { Runtime } from '../../src/runtime/index.js';
import type { ServiceContext } from '../../src/domain/deps.js';
import { systemPrincipal } from '../../src/domain/principal.js';
import { listEvents } from '../../src/domain/audit/repository.js';
import type { TestInstance } from '../support/runtime.js';

/** Service contexts for the identity tests: the system, or a user of the instance. */
export function contexts(rt: Runtime, inst: TestInstance) {
  return {
    system: (): ServiceContext => ({ deps: rt.deps, scope: inst.scope, actor: systemPrincipal }),
    /** The user acting, just signed in (changes to their own factors need a recent sign-in). */
    as: (userId: string, orgId: string): ServiceContext => ({
      deps: rt.deps,
      scope: inst.scope,
      actor: { type: 'user', userId, orgId, authTime: Math.floor(Date.now() / 1000) },
    }),
    admin: (): ServiceContext => ({ deps: rt.deps, scope: inst.scope, actor: { type: 'user', userId: inst.adminUserId, orgId: inst.orgId } }),
  };
}

/** Counts every row of the instance, table by table: a refused call must leave these unchanged. */
export async function snapshot(rt: Runtime, instanceId: string): Promise<Record<string, number>> {
  const tables = [
    'orgs',
    'org_domains',
    'users',
    'user_metadata',
    'machine_keys',
    'personal_access_tokens',
    'projects',
    'project_grants',
    'user_grants',
    'memberships',
    'policies',
    'idps',
    'user_idp_links',
    'instance_domains',
    'audit_events',
  ];
  const out: Record<string, number> = {};
  for (const t of tables) {
    const row = await rt.db.knex(t).where({ instance_id: instanceId }).count({ n: '*' }).first();
    out[t] = Number(row?.n ?? 0);
  }
  const inst = await rt.db.knex('instances').where({ id: instanceId }).first('version');
  out.instance_version = inst?.version ?? 0;
  return out;
}

export async function lastEvent(inst: TestInstance) {
  const events = await listEvents(inst.scope, { limit: 1000 });
  return events[events.length - 1];
}
