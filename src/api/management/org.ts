import { z } from 'zod';
import { domainsOfOrg, readOrg, type OrgRow } from '../../domain/org/queries.js';
import * as orgs from '../../domain/org/service.js';
import { RouteList } from '../route.js';
import { iso, noChosenId, timestamp, versioned } from '../schemas.js';
import { eventList, eventPage, historyFilter, historyQuery } from '../common.js';

/** Assembled into the Management API in ./index.ts. */
export const api = new RouteList();

const tag = 'Org';

const orgSchema = z
  .object({ id: z.string(), name: z.string(), state: z.string(), ...versioned, createdAt: timestamp, updatedAt: timestamp })
  .meta({ id: 'Org' });
const orgView = (o: OrgRow): z.input<typeof orgSchema> => ({
  id: o.id,
  name: o.name,
  state: o.state,
  version: o.version,
  createdAt: iso(o.created_at)!,
  updatedAt: iso(o.updated_at)!,
});

api.route({
  method: 'get',
  path: '/orgs/me',
  tag,
  summary: 'The org the call acts in',
  permission: 'org.read',
  response: orgSchema,
  handler: async ({ call }) => {
    const org = await readOrg(call.svc, call.orgId);
    call.etag(org.version);
    return orgView(org);
  },
});

api.route({
  method: 'post',
  path: '/orgs',
  tag,
  summary: 'Create an org',
  permission: 'org.create',
  body: z.object({ name: z.string().min(1).max(200), id: noChosenId }),
  response: z.object({ id: z.string() }),
  handler: async ({ body, call }) => orgs.createOrg(call.svc, body),
});

api.route({
  method: 'patch',
  path: '/orgs/me',
  tag,
  summary: 'Rename the org',
  permission: 'org.write',
  ifMatch: true,
  body: z.object({ name: z.string().min(1).max(200) }),
  response: orgSchema,
  handler: async ({ body, call }) => {
    await call.atVersion('org', call.orgId, (svc) => orgs.renameOrg(svc, call.orgId, body.name));
    const org = await readOrg(call.svc, call.orgId, 'org.write');
    call.etag(org.version);
    return orgView(org);
  },
});

for (const [action, fn] of [
  ['deactivate', orgs.deactivateOrg],
  ['reactivate', orgs.reactivateOrg],
] as const) {
  api.route({
    method: 'post',
    path: `/orgs/me/_${action}`,
    tag,
    summary: `${action[0].toUpperCase()}${action.slice(1)} the org`,
    permission: 'org.write',
    ifMatch: true,
    publishes: true,
    handler: async ({ call }) => {
      await call.atVersion('org', call.orgId, (svc) => fn(svc, call.orgId));
    },
  });
}

api.route({
  method: 'delete',
  path: '/orgs/me',
  tag,
  summary: 'Delete the org with its users, projects and grants',
  permission: 'org.delete',
  ifMatch: true,
  publishes: true,
  handler: async ({ call }) => {
    await call.atVersion('org', call.orgId, (svc) => orgs.deleteOrg(svc, call.orgId));
  },
});

const domainSchema = z
  .object({
    domain: z.string(),
    isVerified: z.boolean(),
    isPrimary: z.boolean(),
    isGenerated: z.boolean(),
    validationCode: z
      .string()
      .nullable()
      .meta({ description: `publish as TXT ${orgs.DOMAIN_CHALLENGE_PREFIX}.{domain}` }),
  })
  .meta({ id: 'OrgDomain' });

api.route({
  method: 'get',
  path: '/orgs/me/domains',
  tag,
  summary: "The org's domains",
  permission: 'org.read',
  response: z.array(domainSchema),
  handler: async ({ call }) => {
    return (await domainsOfOrg(call.svc, call.orgId)).map((d) => ({
      domain: d.domain,
      isVerified: d.is_verified,
      isPrimary: d.is_primary,
      isGenerated: d.is_generated,
      validationCode: d.validation_code,
    }));
  },
});

api.route({
  method: 'post',
  path: '/orgs/me/domains',
  tag,
  summary: 'Add a domain (verified only by a caller trusted to say so)',
  permission: 'org.write',
  body: z.object({ domain: z.string().min(1).max(253), verified: z.boolean().optional() }),
  publishes: true,
  response: z.object({ domain: z.string(), verified: z.boolean(), validationCode: z.string().nullable() }),
  handler: async ({ body, call }) => orgs.addOrgDomain(call.svc, call.orgId, body.domain, { verified: body.verified }),
});

const domainParams = z.object({ domain: z.string().min(1).max(253) });
for (const [action, fn, summary] of [
  ['_verify', orgs.verifyOrgDomain, 'Verify a domain by its DNS TXT challenge'],
  ['_set_primary', orgs.setPrimaryOrgDomain, 'Make a verified domain the primary one'],
] as const) {
  api.route({
    method: 'post',
    path: `/orgs/me/domains/{domain}/${action}`,
    tag,
    summary,
    permission: 'org.write',
    params: domainParams,
    publishes: true,
    handler: async ({ params, call }) => {
      await fn(call.svc, call.orgId, params.domain);
    },
  });
}

api.route({
  method: 'delete',
  path: '/orgs/me/domains/{domain}',
  tag,
  summary: 'Remove a domain',
  permission: 'org.write',
  params: domainParams,
  publishes: true,
  handler: async ({ params, call }) => {
    await orgs.removeOrgDomain(call.svc, call.orgId, params.domain);
  },
});

api.route({
  method: 'get',
  path: '/orgs/me/history',
  tag,
  summary: "The org's audit trail: every event recorded in this org",
  permission: 'org.read',
  query: historyQuery.extend({ resourceType: z.string().optional(), resourceId: z.string().optional() }),
  response: eventList,
  handler: async ({ query, call }) => {
    return eventPage(
      call,
      'org.read',
      { orgId: call.orgId },
      { ...historyFilter(query), orgId: call.orgId, resourceType: query.resourceType, resourceId: query.resourceId },
    );
  },
});
