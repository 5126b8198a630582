import { z } from 'zod';
import type { Permission } from '../authz/index.js';
import { atPolicyVersion, readPolicy } from '../domain/policy/queries.js';
import { policyKinds, policyPatchSchema, policySchemas, type PolicyKind } from '../domain/policy/schemas.js';
import * as policies from '../domain/policy/service.js';
import type { Call, RouteList } from './route.js';

/**
 * One GET/PUT/PATCH (and, for orgs, DELETE = reset) per policy kind, each with the kind's own
 * zod schema, so the document shows every field and its default. PUT replaces the whole policy
 * (fields left out take their built-in defaults); PATCH changes only the fields sent.
 */
const response = (kind: PolicyKind) =>
  z.object({
    kind: z.literal(kind),
    isDefault: z.boolean().meta({ description: 'true: the org follows the instance default' }),
    settings: policySchemas[kind],
    version: z.number().int().nullable(),
  });

export function policyRoutes(group: RouteList, level: 'instance' | 'org'): void {
  const tag = 'Policies';
  for (const kind of policyKinds) {
    const path = `/policies/${kind}`;
    const orgOf = (call: Call) => (level === 'org' ? call.orgId : null);
    const writePermission: Permission = level === 'org' && kind !== 'domain' ? 'policy.write' : 'iam.policy.write';
    // If-Match counts only against a policy of the org's own (an org following the default has none).
    const expectedVersion = async (call: Call) =>
      (await readPolicy(call.svc, kind, orgOf(call), writePermission)).version === null ? undefined : call.ifMatchVersion();
    const read = async (call: Call, permission?: Permission) => {
      const policy = await readPolicy(call.svc, kind, orgOf(call), permission);
      if (policy.version !== null) call.etag(policy.version);
      return { kind, isDefault: level === 'org' ? policy.version === null : true, settings: policy.settings, version: policy.version };
    };
    group.route({
      method: 'get',
      path,
      tag,
      summary: `The ${level === 'org' ? "org's effective" : 'instance default'} ${kind} policy`,
      permission: level === 'org' ? 'policy.read' : 'iam.policy.read',
      response: response(kind),
      handler: async ({ call }) => read(call),
    });
    group.route({
      method: 'put',
      path,
      tag,
      ifMatch: true,
      publishes: true,
      summary:
        level === 'org'
          ? `Override the ${kind} policy for this org (whole object; left-out fields take built-in defaults)`
          : `Set the instance default ${kind} policy`,
      ...(level === 'org' && kind === 'domain'
        ? {
            description:
              "An instance administrator's setting (iam.policy.write), as in ZITADEL: whether the org's domains need proof is not the org's own choice.",
          }
        : {}),
      permission: writePermission,
      body: policySchemas[kind],
      response: response(kind),
      handler: async ({ body, call }) => {
        await atPolicyVersion(call.svc, orgOf(call), kind, await expectedVersion(call), (svc) =>
          level === 'org' ? policies.setOrgPolicy(svc, call.orgId, kind, body) : policies.setInstancePolicy(svc, kind, body),
        );
        return read(call, writePermission);
      },
    });
    group.route({
      method: 'patch',
      path,
      tag,
      ifMatch: true,
      publishes: true,
      summary:
        level === 'org'
          ? `Change some fields of the org's ${kind} policy (the others keep their current values)`
          : `Change some fields of the instance default ${kind} policy`,
      description:
        "Fields not sent keep their current values; for an org that follows the instance default, the default's values, and the org gets its own policy from them.",
      permission: writePermission,
      body: policyPatchSchema(kind),
      response: response(kind),
      handler: async ({ body, call }) => {
        await atPolicyVersion(call.svc, orgOf(call), kind, await expectedVersion(call), (svc) => policies.patchPolicy(svc, orgOf(call), kind, body));
        return read(call, writePermission);
      },
    });
    if (level === 'org') {
      group.route({
        method: 'delete',
        path,
        tag,
        summary: `Reset the org's ${kind} policy to the instance default`,
        permission: kind === 'domain' ? 'iam.policy.write' : 'policy.delete',
        publishes: true,
        handler: async ({ call }) => {
          await policies.resetOrgPolicy(call.svc, call.orgId, kind);
        },
      });
    }
  }
}
