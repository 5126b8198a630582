import { z } from 'zod';
import { explainAccess } from '../../domain/access/explanation.js';
import { accessExplanationSchema } from '../access-explanation.js';
import { id } from '../schemas.js';
import { requireUserOfOrg } from '../../domain/user/queries.js';
import { RouteList } from '../route.js';

/** Assembled into the Management API in ./index.ts. */
export const api = new RouteList();

api.route({
  method: 'get',
  path: '/users/{userId}/access',
  tag: 'Users',
  permission: 'user.grant.read',
  summary: 'Explain the roles a token for this application would carry for this user, and whether the login would pass',
  description:
    "Also the login the user would meet: which org's login policy applies and what it asks (methods, second factor, IdPs). For each role, the chain that produces it (user grant → project grant → project) with the giving org; " +
    "the user's grants that count for nothing and why; and the outcome of projectRoleCheck and hasProjectCheck.",
  params: z.object({ userId: id }),
  query: z.object({ client_id: z.string().min(1).max(255) }),
  response: accessExplanationSchema,
  handler: async ({ params, query, call }) => {
    await requireUserOfOrg(call.svc, call.orgId, params.userId);
    return explainAccess(call.svc, params.userId, query.client_id);
  },
});
