import { notFound } from '../../shared/errors.js';
import type { Permission, Resource } from '../../authz/index.js';
import { authorize, isAllowed } from '../authorization.js';
import type { ServiceContext } from '../deps.js';
import { findUserNamedFromOrg } from '../user/login-name-repository.js';
import { userSummariesByIds, type UserSummary } from '../user/summary-repository.js';
import { listEvents, pageEventsBefore, type AuditEvent, type EventFilter } from './repository.js';

/**
 * The audit trail of an org: every event recorded in its context, newest first, filtered by
 * resource, actor, type and time. Needs org.read on the org, as the Management API's org history.
 */
export interface TrailFilter {
  resourceType?: string;
  resourceId?: string;
  actorId?: string;
  /** an event type or its start: 'project.grant.' */
  typePrefix?: string;
  from?: Date;
  to?: Date;
}

export interface TrailEvent extends AuditEvent {
  seq: number;
  actor?: UserSummary;
}

export async function orgTrail(
  ctx: ServiceContext,
  orgId: string,
  f: TrailFilter,
  page: { beforeSeq?: number; limit: number },
): Promise<{ rows: TrailEvent[]; nextBeforeSeq: number | null }> {
  if (!(await isAllowed(ctx, 'org.read', { orgId }))) throw notFound('org', orgId);
  const { rows, nextBeforeSeq } = await pageEventsBefore(ctx.scope, { ...f, orgId }, page.beforeSeq, page.limit);
  const actors = await userSummariesByIds(
    ctx.scope,
    rows.flatMap((e) => (e.actor_id ? [e.actor_id] : [])),
  );
  return {
    rows: rows.map((e) => ({
      ...e,
      payload: typeof e.payload === 'string' ? JSON.parse(e.payload) : e.payload,
      actor: e.actor_id ? actors.get(e.actor_id) : undefined,
    })),
    nextBeforeSeq,
  };
}

/** The actor a filter names: a user of the org by username, or anyone by exact login name. */
export async function trailActor(ctx: ServiceContext, orgId: string, name: string): Promise<UserSummary | undefined> {
  if (!(await isAllowed(ctx, 'org.read', { orgId }))) throw notFound('org', orgId);
  const user = await findUserNamedFromOrg(ctx.scope, orgId, name);
  return user ? (await userSummariesByIds(ctx.scope, [user.id])).get(user.id) : undefined;
}

/**
 * Events oldest first after a cursor (the APIs' history endpoints), for a caller holding
 * `permission` on `resource`, the thing whose trail it is.
 */
export async function auditEvents(ctx: ServiceContext, permission: Permission, resource: Resource, f: EventFilter): Promise<(AuditEvent & { seq: number })[]> {
  await authorize(ctx, permission, resource);
  return listEvents(ctx.scope, f);
}
