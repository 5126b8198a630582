import { z } from 'zod';
import type { Permission, Resource } from '../authz/index.js';
import { auditEvents } from '../domain/audit/queries.js';
import type { Call } from './route.js';
import { id, iso, listOf, timestamp } from './schemas.js';

export const eventSchema = z
  .object({
    seq: z.number().int(),
    id: z.string(),
    createdAt: timestamp,
    actorId: z.string().nullable(),
    actorType: z.string(),
    orgId: z.string().nullable(),
    resourceType: z.string(),
    resourceId: z.string(),
    type: z.string(),
    payload: z.record(z.string(), z.unknown()),
  })
  .meta({ id: 'AuditEvent' });

export const eventList = listOf(eventSchema).extend({
  details: z.object({ totalResult: z.number().int(), offset: z.number().int(), limit: z.number().int(), nextAfterSeq: z.number().int().nullable() }),
});

export const historyQuery = z.object({
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  afterSeq: z.coerce.number().int().min(0).optional().meta({ description: 'cursor: the last seq of the previous page' }),
  type: z.string().optional(),
  actorId: id.optional(),
  from: timestamp.optional(),
  to: timestamp.optional(),
});

/** One page of the audit trail of `resource` (read with `permission`), oldest first, with the cursor for the next page. */
export async function eventPage(call: Call, permission: Permission, resource: Resource, f: Parameters<typeof auditEvents>[3] & { limit: number }) {
  const rows = await auditEvents(call.svc, permission, resource, f);
  const result = rows.map((e) => ({
    seq: Number(e.seq),
    id: e.id,
    createdAt: iso(e.created_at)!,
    actorId: e.actor_id,
    actorType: e.actor_type,
    orgId: e.org_id,
    resourceType: e.resource_type,
    resourceId: e.resource_id,
    type: e.type,
    payload: typeof e.payload === 'string' ? JSON.parse(e.payload) : e.payload,
  }));
  return {
    details: { totalResult: result.length, offset: 0, limit: f.limit, nextAfterSeq: result.length === f.limit ? result[result.length - 1].seq : null },
    result,
  };
}

export const historyFilter = (q: z.infer<typeof historyQuery>) => ({
  limit: q.limit,
  afterSeq: q.afterSeq,
  type: q.type,
  actorId: q.actorId,
  from: q.from ? new Date(q.from) : undefined,
  to: q.to ? new Date(q.to) : undefined,
});
