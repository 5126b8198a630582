import { z } from 'zod';
import { instanceSettings, readInstance, smtpSettingsToTest, type InstanceRow } from '../domain/instance/queries.js';
import * as instances from '../domain/instance/service.js';
import { pageAllOrgs } from '../domain/org/queries.js';
import { DomainError, ruleViolation } from '../shared/errors.js';
import { userContext } from './authenticate.js';
import { eventList, eventPage, historyQuery, historyFilter } from './common.js';
import { idpRoutes } from './idps.js';
import { memberRoutes } from './members.js';
import { policyRoutes } from './policies.js';
import { labelAssetRoutes } from './label-assets.js';
import { smsProviderRoutes } from './sms-provider.js';
import { ApiGroup } from './route.js';
import { sendTestMail } from '../mail/transport.js';
import { id, iso, listOf, listQuery, timestamp, versioned } from './schemas.js';

/** Admin API: one instance's settings, default policies, IdPs, members and audit trail. */
export const adminApi = new ApiGroup('/admin/v1', 'Admin', 'bearer', userContext);

// ---- the instance ----

adminApi.route({
  method: 'get',
  path: '/instance',
  tag: 'Settings',
  summary: 'The instance: name, state, default org',
  permission: 'iam.read',
  response: z.object({ id: z.string(), name: z.string(), state: z.string(), defaultOrgId: z.string().nullable(), ...versioned }),
  handler: async ({ call }) => {
    const i = await readInstance(call.svc);
    call.etag(i.version);
    return { id: i.id, name: i.name, state: i.state, defaultOrgId: i.default_org_id, version: i.version };
  },
});

adminApi.route({
  method: 'patch',
  path: '/instance',
  tag: 'Settings',
  summary: "Rename the instance (its domains are the System API's)",
  permission: 'iam.write',
  ifMatch: true,
  publishes: true,
  body: z.object({ name: z.string().min(1).max(200) }),
  handler: async ({ body, call }) => {
    await call.atVersion('instance', call.svc.scope.instanceId, (svc) => instances.renameInstance(svc, body.name));
  },
});

// ---- the instance's domains ----

const instanceDomainSchema = z.object({ domain: z.string(), isPrimary: z.boolean(), isGenerated: z.boolean() }).meta({ id: 'InstanceDomain' });
const domainParams = z.object({ domain: z.string().min(1).max(253) });
/** The host this request came in on: removing it would cut the caller off mid-conversation. */
const servedAt = (call: { koa: { state: { origin: string } } }) => new URL(call.koa.state.origin).hostname;

adminApi.route({
  method: 'get',
  path: '/domains',
  tag: 'Settings',
  summary: 'The hosts the instance answers on, the primary (the issuer of new sessions) first',
  permission: 'iam.read',
  response: z.array(instanceDomainSchema),
  handler: async ({ call }) =>
    (await instanceSettings(call.svc)).domains.map((d) => ({ domain: d.domain, isPrimary: d.is_primary, isGenerated: d.is_generated })),
});

adminApi.route({
  method: 'post',
  path: '/domains',
  tag: 'Settings',
  summary: 'Serve the instance at one more domain (unique in the installation)',
  permission: 'iam.domain.write',
  body: z.object({ domain: z.string().min(1).max(253), primary: z.boolean().optional() }),
  handler: async ({ body, call }) => {
    await instances.addInstanceDomain(call.svc, body.domain, { primary: body.primary });
  },
});

adminApi.route({
  method: 'post',
  path: '/domains/{domain}/_set_primary',
  tag: 'Settings',
  summary: 'Make a domain the primary one',
  permission: 'iam.domain.write',
  params: domainParams,
  handler: async ({ params, call }) => {
    await instances.setPrimaryInstanceDomain(call.svc, params.domain);
  },
});

adminApi.route({
  method: 'delete',
  path: '/domains/{domain}',
  tag: 'Settings',
  summary: 'Stop serving the instance at a domain (not its primary, a generated one, or the one this request came in on)',
  permission: 'iam.domain.write',
  params: domainParams,
  handler: async ({ params, call }) => {
    await instances.removeInstanceDomain(call.svc, params.domain, { servedAt: servedAt(call) });
  },
});

// ---- OIDC settings ----

const lifetimes = {
  accessTokenLifetimeS: z.number().int().meta({ description: 'seconds' }),
  idTokenLifetimeS: z.number().int(),
  refreshTokenIdleS: z.number().int(),
  refreshTokenAbsoluteS: z.number().int(),
};
const reuseGrace = z
  .number()
  .int()
  .min(0)
  .max(300)
  .meta({ description: 'seconds within which a just-rotated refresh token, presented again, gets a fresh answer instead of revoking its family (0: never)' });
const oidcSchema = z.object({ ...lifetimes, refreshTokenReuseGraceS: reuseGrace, ...versioned }).meta({ id: 'OidcSettings' });
const oidcView = (i: InstanceRow) => ({
  accessTokenLifetimeS: i.access_token_lifetime_s,
  idTokenLifetimeS: i.id_token_lifetime_s,
  refreshTokenIdleS: i.refresh_token_idle_s,
  refreshTokenAbsoluteS: i.refresh_token_absolute_s,
  refreshTokenReuseGraceS: i.refresh_token_reuse_grace_s,
  version: i.version,
});

adminApi.route({
  method: 'get',
  path: '/settings/oidc',
  tag: 'Settings',
  summary: 'Token lifetimes',
  permission: 'iam.read',
  response: oidcSchema,
  handler: async ({ call }) => {
    const i = await readInstance(call.svc);
    call.etag(i.version);
    return oidcView(i);
  },
});

adminApi.route({
  method: 'put',
  path: '/settings/oidc',
  tag: 'Settings',
  summary: 'Change token lifetimes (seen in the next token issued)',
  permission: 'iam.write',
  ifMatch: true,
  publishes: true,
  response: oidcSchema,
  body: z.object({
    ...(Object.fromEntries(Object.entries(lifetimes).map(([k, v]) => [k, v.min(60).optional()])) as {
      [K in keyof typeof lifetimes]: z.ZodOptional<z.ZodNumber>;
    }),
    refreshTokenReuseGraceS: reuseGrace.optional(),
  }),
  handler: async ({ body, call }) => {
    await call.atVersion('instance', call.svc.scope.instanceId, (svc) => instances.updateOidcSettings(svc, body));
    const i = await readInstance(call.svc, 'iam.write');
    call.etag(i.version);
    return oidcView(i);
  },
});

// ---- SMTP ----

const smtpSchema = z
  .object({
    host: z.string().nullable(),
    port: z.number().int().nullable(),
    tls: z.boolean(),
    user: z.string().nullable(),
    hasPassword: z.boolean().meta({ description: 'the password is write-only' }),
    fromAddress: z.string().nullable(),
    fromName: z.string().nullable(),
    ...versioned,
  })
  .meta({ id: 'SmtpSettings' });
const smtpView = (i: InstanceRow) => ({
  host: i.smtp_host,
  port: i.smtp_port,
  tls: i.smtp_tls,
  user: i.smtp_user,
  hasPassword: !!i.smtp_password_enc,
  fromAddress: i.smtp_from_address,
  fromName: i.smtp_from_name,
  version: i.version,
});

adminApi.route({
  method: 'get',
  path: '/settings/smtp',
  tag: 'Settings',
  summary: 'The SMTP transport',
  permission: 'iam.read',
  response: smtpSchema,
  handler: async ({ call }) => {
    const i = await readInstance(call.svc);
    call.etag(i.version);
    return smtpView(i);
  },
});

adminApi.route({
  method: 'put',
  path: '/settings/smtp',
  tag: 'Settings',
  summary: 'Set the SMTP transport (password: omit to keep, null to clear)',
  permission: 'iam.write',
  ifMatch: true,
  publishes: true,
  response: smtpSchema,
  body: z.object({
    host: z.string().min(1).max(253),
    port: z.number().int().min(1).max(65535),
    tls: z.boolean(),
    user: z.string().max(500).nullable().optional(),
    password: z.string().max(1000).nullable().optional(),
    fromAddress: z.string().min(3).max(320),
    fromName: z.string().max(200),
  }),
  handler: async ({ body, call }) => {
    await call.atVersion('instance', call.svc.scope.instanceId, (svc) => instances.setSmtpSettings(svc, body));
    const i = await readInstance(call.svc, 'iam.write');
    call.etag(i.version);
    return smtpView(i);
  },
});

adminApi.route({
  method: 'post',
  path: '/settings/smtp/_test',
  tag: 'Settings',
  summary: 'Send a test mail through the stored SMTP settings',
  permission: 'iam.write',
  status: 200,
  noTransaction: true,
  body: z.object({ to: z.email() }),
  response: z.object({ sent: z.boolean(), messageId: z.string(), response: z.string() }),
  handler: async ({ body, call }) => {
    const smtp = await smtpSettingsToTest(call.svc);
    if (!smtp) throw ruleViolation('smtp.not_configured', 'set the SMTP settings first');
    // The very transport the account mails use (src/mail/transport.ts), so the test proves what
    // real mail will do: implicit TLS on 465, else STARTTLS required; off: plain.
    try {
      return { sent: true, ...(await sendTestMail(smtp, body.to, call.svc.deps.outbound)) };
    } catch (err) {
      // The SMTP server's own answer is what the admin needs to fix the settings.
      throw new DomainError('rule_violation', `the SMTP server refused: ${(err as Error).message}`, 'smtp.send_failed');
    }
  },
});

// ---- orgs of the instance ----

adminApi.route({
  method: 'get',
  path: '/orgs',
  tag: 'Orgs',
  summary: "List the instance's orgs",
  permission: 'org.global.read',
  query: listQuery(['name', 'createdAt', 'state'] as const, {
    name: z.string().optional().meta({ description: 'name contains' }),
    state: z.enum(['active', 'inactive']).optional(),
  }),
  response: listOf(z.object({ id: z.string(), name: z.string(), state: z.string(), ...versioned, createdAt: timestamp })),
  handler: async ({ query, call }) => {
    const { total, rows } = await pageAllOrgs(call.svc, { state: query.state, nameContains: query.name }, query);
    return {
      details: { totalResult: total, offset: query.offset, limit: query.limit },
      result: rows.map((o) => ({ id: o.id, name: o.name, state: o.state, version: o.version, createdAt: iso(o.created_at)! })),
    };
  },
});

// ---- default policies, instance IdPs, instance members ----

policyRoutes(adminApi, 'instance');
labelAssetRoutes(adminApi, 'instance');
smsProviderRoutes(adminApi);
idpRoutes(adminApi, 'instance');
memberRoutes(
  adminApi,
  '/members',
  'Members',
  z.object({}),
  async () => ({
    target: { level: 'instance' },
    resource: {},
  }),
  { read: 'iam.member.read', write: 'iam.member.write' },
);

// ---- the audit trail ----

adminApi.route({
  method: 'get',
  path: '/events',
  tag: 'Audit',
  permission: 'events.read',
  summary: "The instance's audit trail, oldest first; page with afterSeq",
  query: historyQuery.extend({ resourceType: z.string().optional(), resourceId: z.string().optional(), orgId: id.optional() }),
  response: eventList,
  handler: async ({ query, call }) => {
    return eventPage(call, 'events.read', {}, { ...historyFilter(query), resourceType: query.resourceType, resourceId: query.resourceId, orgId: query.orgId });
  },
});
