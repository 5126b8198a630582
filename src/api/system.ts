import { z } from 'zod';
import { Scope } from '../db/scope.js';
import { allInstanceIds, instanceWithDomains } from '../domain/instance/queries.js';
import * as instances from '../domain/instance/service.js';
import { systemContext } from './authenticate.js';
import { ApiGroup, type Call } from './route.js';
import { id, iso, listOf, listQuery, page, contains, timestamp } from './schemas.js';

/** System API: the installation's instances and their domains, for the operator's system keys. */
export const systemApi = new ApiGroup('/system/v1', 'System', 'systemKey', systemContext);

const instanceSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    state: z.string(),
    defaultOrgId: z.string().nullable(),
    domains: z.array(z.object({ domain: z.string(), isPrimary: z.boolean(), isGenerated: z.boolean() })),
    version: z.number().int(),
    createdAt: timestamp,
  })
  .meta({ id: 'Instance' });

async function instanceView(call: Call, instanceId: string) {
  const { instance: row, domains } = await instanceWithDomains(call.rt.db.knex, call.principal, instanceId);
  return {
    id: row.id,
    name: row.name,
    state: row.state,
    defaultOrgId: row.default_org_id,
    version: row.version,
    createdAt: iso(row.created_at)!,
    domains: domains.map((d) => ({ domain: d.domain, isPrimary: d.is_primary, isGenerated: d.is_generated })),
  };
}

const instanceParams = z.object({ instanceId: id });

systemApi.route({
  method: 'get',
  path: '/instances',
  summary: 'List instances',
  query: listQuery(['name', 'createdAt', 'id'] as const, { name: z.string().optional().meta({ description: 'name contains' }) }),
  response: listOf(instanceSchema),
  handler: async ({ query, call }) => {
    const all = await Promise.all((await allInstanceIds(call.rt.db.knex, call.principal)).map((i) => instanceView(call, i)));
    return page(all, query, (i) => contains(i.name, query.name));
  },
});

systemApi.route({
  method: 'post',
  path: '/instances',
  summary: 'Create an instance with its first org and an IAM_OWNER admin',
  body: z.object({
    name: z.string().min(1).max(200),
    domains: z.array(z.string().min(1).max(253)).min(1).meta({ description: 'the first is primary' }),
    orgName: z.string().min(1).max(200),
    admin: z.object({ username: z.string().min(1).max(200), email: z.email(), password: z.string().min(1).max(256).optional() }),
  }),
  response: z.object({ instanceId: z.string(), orgId: z.string(), adminUserId: z.string(), generatedPassword: z.string().optional() }),
  handler: async ({ body, call }) => {
    const created = await instances.createInstance(call.rt.db.knex, call.rt.deps, body, call.principal);
    return { ...created, generatedPassword: created.generatedPassword };
  },
});

systemApi.route({
  method: 'get',
  path: '/instances/{instanceId}',
  summary: 'Read an instance',
  params: instanceParams,
  response: instanceSchema,
  handler: async ({ params, call }) => instanceView(call, params.instanceId),
});

/** A service context acting as the system inside the instance named by the path; unknown instance → 404. */
async function inInstance(call: Call, instanceId: string) {
  await instanceWithDomains(call.rt.db.knex, call.principal, instanceId);
  return { ...call.svc, scope: new Scope(call.rt.db.knex, instanceId) };
}

systemApi.route({
  method: 'delete',
  path: '/instances/{instanceId}',
  summary: 'Delete an instance and everything in it',
  params: instanceParams,
  handler: async ({ params, call }) => {
    await instances.deleteInstance(await inInstance(call, params.instanceId));
  },
});

systemApi.route({
  method: 'get',
  path: '/instances/{instanceId}/domains',
  summary: "The instance's domains",
  params: instanceParams,
  response: instanceSchema.shape.domains,
  handler: async ({ params, call }) => (await instanceView(call, params.instanceId)).domains,
});

systemApi.route({
  method: 'post',
  path: '/instances/{instanceId}/domains',
  summary: 'Serve the instance at one more domain (unique across the installation)',
  params: instanceParams,
  body: z.object({ domain: z.string().min(1).max(253), primary: z.boolean().optional() }),
  handler: async ({ params, body, call }) => {
    await instances.addInstanceDomain(await inInstance(call, params.instanceId), body.domain, { primary: body.primary });
  },
});

const domainParams = instanceParams.extend({ domain: z.string().min(1).max(253) });

systemApi.route({
  method: 'post',
  path: '/instances/{instanceId}/domains/{domain}/_set_primary',
  summary: 'Make a domain the primary one (the issuer of new sessions)',
  params: domainParams,
  handler: async ({ params, call }) => {
    await instances.setPrimaryInstanceDomain(await inInstance(call, params.instanceId), params.domain);
  },
});

systemApi.route({
  method: 'delete',
  path: '/instances/{instanceId}/domains/{domain}',
  summary: 'Stop serving the instance at a domain',
  params: domainParams,
  handler: async ({ params, call }) => {
    await instances.removeInstanceDomain(await inInstance(call, params.instanceId), params.domain);
  },
});
