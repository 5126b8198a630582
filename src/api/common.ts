import { z } from 'zod';
import { can, isAllowed, roleTableFor, type Resource } from '../authz/index.js';
import { listMembershipsOfUser } from '../domain/membership/repository.js';
import { listEvents } from '../domain/audit/repository.js';
import { getProject, type ProjectRow } from '../domain/project/repository.js';
import { getUser, type UserRow } from '../domain/user/repository.js';
import { notFound, permissionDenied } from '../shared/errors.js';
import type { Call } from './route.js';
import { id, iso, listOf, timestamp } from './schemas.js';

/**
 * Resources are addressed inside the call's org. An id that exists elsewhere (another org or
 * instance) answers exactly like one that does not exist, so ids cannot be probed.
 */
export async function requireOrgUser(call: Call, userId: string): Promise<UserRow> {
  const user = await getUser(call.svc.scope, userId);
  if (!user || user.org_id !== call.orgId) throw notFound('user', userId);
  return user;
}

export async function requireOrgProject(call: Call, projectId: string): Promise<ProjectRow> {
  const project = await getProject(call.svc.scope, projectId);
  if (!project || project.org_id !== call.orgId) throw notFound('project', projectId);
  return project;
}

/** Reads check their permission here; writes leave it to the service they call. */
export async function requirePermission(call: Call, permission: string, resource: Parameters<typeof isAllowed>[2]): Promise<void> {
  if (!(await isAllowed(call.svc, permission, resource))) throw permissionDenied(permission);
}

/**
 * For filtering lists item by item: the caller's memberships are read once, then every check
 * is the pure can() of src/authz, so a list of n items costs one query, not n.
 */
export async function permissionChecker(call: Call): Promise<(permission: string, resource: Resource) => boolean> {
  if (call.principal.type !== 'user') return () => true;
  const memberships = await listMembershipsOfUser(call.svc.scope, call.principal.userId);
  const table = roleTableFor(call.rt.deps.config.roles);
  return (permission, resource) => can(memberships, permission, resource, table);
}

export const eventSchema = z.object({
  seq: z.number().int(), id: z.string(), createdAt: timestamp, actorId: z.string().nullable(), actorType: z.string(),
  orgId: z.string().nullable(), resourceType: z.string(), resourceId: z.string(), type: z.string(),
  payload: z.record(z.string(), z.unknown()),
}).meta({ id: 'AuditEvent' });

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

/** One page of the audit trail, oldest first, with the cursor for the next page. */
export async function eventPage(call: Call, f: Parameters<typeof listEvents>[1] & { limit: number }) {
  const rows = await listEvents(call.svc.scope, f);
  const result = rows.map((e) => ({
    seq: Number(e.seq), id: e.id, createdAt: iso(e.created_at)!, actorId: e.actor_id, actorType: e.actor_type, orgId: e.org_id,
    resourceType: e.resource_type, resourceId: e.resource_id, type: e.type,
    payload: typeof e.payload === 'string' ? JSON.parse(e.payload) : e.payload,
  }));
  return {
    details: { totalResult: result.length, offset: 0, limit: f.limit, nextAfterSeq: result.length === f.limit ? result[result.length - 1].seq : null },
    result,
  };
}

export const historyFilter = (q: z.infer<typeof historyQuery>) => ({
  limit: q.limit, afterSeq: q.afterSeq, type: q.type, actorId: q.actorId,
  from: q.from ? new Date(q.from) : undefined, to: q.to ? new Date(q.to) : undefined,
});

/**
 * Which rows of the call's org a list may show, as a condition the repository puts in its query
 * (so paging and totalResult only ever see visible rows): everything when the permission holds
 * org-wide, else only the projects and project grants the caller's memberships give it on.
 */
export type Visibility = { all: true } | { all: false; projectIds: string[]; projectGrantIds: string[] };

export async function visibility(call: Call, permission: string): Promise<Visibility> {
  if (call.principal.type !== 'user') return { all: true };
  const memberships = await listMembershipsOfUser(call.svc.scope, call.principal.userId);
  const table = roleTableFor(call.rt.deps.config.roles);
  if (can(memberships, permission, { orgId: call.orgId }, table)) return { all: true };
  const grants = (m: (typeof memberships)[number]) => m.roles.some((role) => table[role]?.has(permission));
  return {
    all: false,
    projectIds: memberships.filter((m) => m.level === 'project' && m.project_id && grants(m)).map((m) => m.project_id!),
    projectGrantIds: memberships.filter((m) => m.level === 'project_grant' && m.project_grant_id && grants(m)).map((m) => m.project_grant_id!),
  };
}
