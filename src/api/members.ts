import { z } from 'zod';
import type { Permission, Resource } from '../authz/index.js';
import * as members from '../domain/membership/service.js';
import { notFound } from '../shared/errors.js';
import type { Call, RouteList } from './route.js';
import { pageMembersOf } from '../domain/membership/queries.js';
import { id, iso, listOf, listQuery, timestamp, versioned } from './schemas.js';

/**
 * Managers at one level (instance, org, project, project grant). The same five routes are
 * mounted at each place; the service checks *.member.write on the resource, which is what
 * keeps anyone from handing out a level above their own.
 */
export interface MemberPlace {
  target: members.MemberTarget;
  /** Where reading the member list is authorized. */
  resource: Resource;
}

const memberSchema = z
  .object({
    id: z.string(),
    userId: z.string(),
    level: z.string(),
    orgId: z.string().nullable(),
    projectId: z.string().nullable(),
    projectGrantId: z.string().nullable(),
    roles: z.array(z.string()),
    ...versioned,
    createdAt: timestamp,
  })
  .meta({ id: 'Member' });

const rolesBody = z.object({
  roles: z
    .array(z.string().regex(/^[A-Z_]+$/))
    .min(1)
    .max(20),
});

export function memberRoutes<P extends z.ZodObject<z.ZodRawShape>>(
  group: RouteList,
  base: string,
  tag: string,
  params: P,
  place: (call: Call, params: z.output<P>) => Promise<MemberPlace>,
  permissions: { read: Permission; write: Permission },
): void {
  const writePermission = permissions.write;
  const withUser = params.extend({ userId: id });

  const find = async (call: Call, p: z.output<P>, userId: string) => {
    const where = await place(call, p);
    const m = await members.findMember(call.svc.scope, userId, where.target);
    if (!m) throw notFound('member', userId);
    return m;
  };

  group.route({
    method: 'get',
    path: base,
    tag,
    summary: 'List managers and their roles',
    permission: permissions.read,
    params,
    query: listQuery(['createdAt', 'userId'] as const, { userId: id.optional(), role: z.string().optional() }),
    response: listOf(memberSchema),
    handler: async ({ params: p, query, call }) => {
      const where = await place(call, p as z.output<P>);
      const { total, rows } = await pageMembersOf(call.svc, permissions.read, where.resource, where.target, { userId: query.userId, role: query.role }, query);
      return {
        details: { totalResult: total, offset: query.offset, limit: query.limit },
        result: rows.map((m) => ({
          id: m.id,
          userId: m.user_id,
          level: m.level,
          orgId: m.org_id,
          projectId: m.project_id,
          projectGrantId: m.project_grant_id,
          roles: m.roles,
          version: m.version,
          createdAt: iso(m.created_at)!,
        })),
      };
    },
  });

  group.route({
    method: 'post',
    path: base,
    tag,
    summary: 'Make a user a manager here',
    permission: writePermission,
    params,
    body: rolesBody.extend({ userId: id }),
    response: z.object({ id: z.string() }),
    handler: async ({ params: p, body, call }) => {
      const where = await place(call, p as z.output<P>);
      return members.addMember(call.svc, { ...where.target, userId: body.userId, roles: body.roles });
    },
  });

  group.route({
    method: 'put',
    path: `${base}/{userId}`,
    tag,
    summary: "Replace a manager's roles",
    permission: writePermission,
    params: withUser,
    body: rolesBody,
    ifMatch: true,
    handler: async ({ params: p, body, call }) => {
      const m = await find(call, p as z.output<P>, (p as { userId: string }).userId);
      await call.atVersion('membership', m.id, (svc) => members.changeMemberRoles(svc, m.id, body.roles));
    },
  });

  group.route({
    method: 'delete',
    path: `${base}/{userId}`,
    tag,
    summary: 'Remove a manager',
    permission: writePermission,
    params: withUser,
    ifMatch: true,
    handler: async ({ params: p, call }) => {
      const m = await find(call, p as z.output<P>, (p as { userId: string }).userId);
      await call.atVersion('membership', m.id, (svc) => members.removeMember(svc, m.id));
    },
  });
}
