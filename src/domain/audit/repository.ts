import type { Scope } from '../../db/scope.js';
import { newId } from '../../shared/ids.js';
import type { Principal } from '../principal.js';

export interface AuditEvent {
  id: string;
  created_at: Date;
  actor_id: string | null;
  actor_type: string;
  org_id: string | null;
  resource_type: string;
  resource_id: string;
  type: string;
  payload: Record<string, unknown>;
}

export interface NewAuditEvent {
  orgId?: string | null;
  resourceType: string;
  resourceId: string;
  /** e.g. 'project.grant.added' */
  type: string;
  payload?: Record<string, unknown>;
}

/** Appends one event; call it inside the transaction of the change it records. */
export async function appendEvent(scope: Scope, actor: Principal, event: NewAuditEvent): Promise<void> {
  await scope.insert('audit_events', {
    id: newId(),
    actor_id: actor.type === 'user' ? actor.userId : null,
    actor_type: actor.type,
    org_id: event.orgId ?? null,
    resource_type: event.resourceType,
    resource_id: event.resourceId,
    type: event.type,
    payload: JSON.stringify(event.payload ?? {}),
  });
}

export interface EventFilter {
  resourceType?: string;
  resourceId?: string;
  actorId?: string;
  type?: string;
  orgId?: string;
  from?: Date;
  to?: Date;
  limit?: number;
  afterSeq?: number;
}

export async function listEvents(scope: Scope, f: EventFilter = {}): Promise<(AuditEvent & { seq: number })[]> {
  const q = scope
    .table('audit_events')
    .orderBy('seq', 'asc')
    .limit(Math.min(f.limit ?? 100, 1000));
  if (f.resourceType) q.where('resource_type', f.resourceType);
  if (f.resourceId) q.where('resource_id', f.resourceId);
  if (f.actorId) q.where('actor_id', f.actorId);
  if (f.type) q.where('type', f.type);
  if (f.orgId) q.where('org_id', f.orgId);
  if (f.from) q.where('created_at', '>=', f.from);
  if (f.to) q.where('created_at', '<', f.to);
  if (f.afterSeq) q.where('seq', '>', f.afterSeq);
  return q;
}

/**
 * One page of the trail, newest first, from before `beforeSeq` (a cursor: the last seq of the
 * previous page). `typePrefix` matches event types by their start ('project.' for every project
 * event). One row more than asked tells whether there is a next page.
 */
export async function pageEventsBefore(
  scope: Scope,
  f: Omit<EventFilter, 'limit' | 'afterSeq' | 'type'> & { typePrefix?: string },
  beforeSeq: number | undefined,
  limit: number,
): Promise<{ rows: (AuditEvent & { seq: number })[]; nextBeforeSeq: number | null }> {
  const q = scope
    .table('audit_events')
    .orderBy('seq', 'desc')
    .limit(limit + 1);
  if (f.resourceType) q.where('resource_type', f.resourceType);
  if (f.resourceId) q.where('resource_id', f.resourceId);
  if (f.actorId) q.where('actor_id', f.actorId);
  if (f.typePrefix) q.whereLike('type', `${f.typePrefix.replace(/[%_\\]/g, '\\$&')}%`);
  if (f.orgId) q.where('org_id', f.orgId);
  if (f.from) q.where('created_at', '>=', f.from);
  if (f.to) q.where('created_at', '<', f.to);
  if (beforeSeq) q.where('seq', '<', beforeSeq);
  const rows: (AuditEvent & { seq: number })[] = (await q).map((r: AuditEvent & { seq: string | number }) => ({ ...r, seq: Number(r.seq) }));
  const more = rows.length > limit;
  return { rows: rows.slice(0, limit), nextBeforeSeq: more ? rows[limit - 1].seq : null };
}
