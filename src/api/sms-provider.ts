import { z } from 'zod';
import { getSmsProvider, removeSmsProvider, setHttpSmsProvider, type SmsProviderView } from '../domain/instance/sms-provider.js';
import { notFound } from '../shared/errors.js';
import type { RouteList } from './route.js';
import { iso, timestamp } from './schemas.js';

/**
 * The instance's SMS provider (Admin API), as ZITADEL's HTTP SMS provider: Tessera POSTs
 * {recipient, text} to the endpoint, signed with the provider's signing key (header
 * x-tessera-signature, src/notify/sms-webhook.ts). The key is answered once, when it is made.
 */
const providerSchema = z
  .object({
    type: z.literal('http'),
    endpoint: z.string(),
    description: z.string().nullable(),
    createdAt: timestamp,
    updatedAt: timestamp,
    signingKey: z.string().optional().meta({ description: 'only when it was just made (a new provider, or rotateSigningKey): keep it, it is not shown again' }),
  })
  .meta({ id: 'SmsProvider' });
const view = (p: SmsProviderView & { signingKey?: string }) => ({ ...p, createdAt: iso(p.createdAt)!, updatedAt: iso(p.updatedAt)! });

export function smsProviderRoutes(group: RouteList): void {
  const tag = 'Settings';
  group.route({
    method: 'get',
    path: '/sms/http',
    tag,
    summary: "The instance's HTTP webhook SMS provider (without its signing key)",
    permission: 'iam.read',
    response: providerSchema,
    handler: async ({ call }) => {
      const p = await getSmsProvider(call.svc);
      if (!p) throw notFound('sms provider');
      return view(p);
    },
  });
  group.route({
    method: 'put',
    path: '/sms/http',
    tag,
    summary: 'Set the HTTP webhook SMS provider: phone codes are POSTed as {recipient, text} to the endpoint',
    permission: 'iam.write',
    response: providerSchema,
    body: z.object({
      endpoint: z.string().min(1).max(2000),
      description: z.string().max(200).nullable().optional(),
      rotateSigningKey: z.boolean().optional(),
    }),
    handler: async ({ body, call }) => view(await setHttpSmsProvider(call.svc, body)),
  });
  group.route({
    method: 'delete',
    path: '/sms/http',
    tag,
    summary: 'Remove the SMS provider: phone numbers are then kept unverified',
    permission: 'iam.write',
    handler: async ({ call }) => {
      await removeSmsProvider(call.svc);
    },
  });
}
