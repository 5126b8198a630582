import { z } from 'zod';
import { accessExplanationSchema, explainAccess } from '../access-explanation.js';
import { id } from '../schemas.js';
import { requireOrgUser, requirePermission } from '../common.js';
import { managementApi as api } from './group.js';

api.route({
  method: 'get', path: '/users/{userId}/access', tag: 'Users', permission: 'user.grant.read',
  summary: 'Explain the roles a token for this application would carry for this user, and whether the login would pass',
  description: 'For each role, the chain that produces it (user grant → project grant → project) with the giving org; '
    + 'the user\'s grants that count for nothing and why; and the outcome of projectRoleCheck and hasProjectCheck.',
  params: z.object({ userId: id }), query: z.object({ client_id: z.string().min(1).max(255) }),
  response: accessExplanationSchema,
  handler: async ({ params, query, call }) => {
    const user = await requireOrgUser(call, params.userId);
    await requirePermission(call, 'user.grant.read', { orgId: user.org_id });
    return explainAccess(call.svc.scope, user, query.client_id);
  },
});
