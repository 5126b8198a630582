import { RouteList } from '../route.js';
import { z } from 'zod';
import { readOwnedGrant, receivedGrant } from '../../domain/project-grant/queries.js';
import { requireProjectOfOrg } from '../../domain/project/queries.js';
import { memberRoutes } from '../members.js';
import { id } from '../schemas.js';

/** Assembled into the Management API in ./index.ts. */
export const api = new RouteList();

const tag = 'Members';

memberRoutes(
  api,
  '/members',
  tag,
  z.object({}),
  async (call) => ({
    target: { level: 'org', orgId: call.orgId },
    resource: { orgId: call.orgId },
  }),
  { read: 'org.member.read', write: 'org.member.write' },
);

memberRoutes(
  api,
  '/projects/{projectId}/members',
  tag,
  z.object({ projectId: id }),
  async (call, p) => {
    await requireProjectOfOrg(call.svc, call.orgId, p.projectId);
    return {
      target: { level: 'project', projectId: p.projectId },
      resource: { orgId: call.orgId, projectId: p.projectId },
    };
  },
  { read: 'project.member.read', write: 'project.member.write' },
);

// The owner manages who administers each grant...
memberRoutes(
  api,
  '/projects/{projectId}/grants/{grantId}/members',
  tag,
  z.object({ projectId: id, grantId: id }),
  async (call, p) => {
    const grant = await readOwnedGrant(call.svc, call.orgId, p.projectId, p.grantId, null);
    return {
      target: { level: 'project_grant', projectId: grant.project_id, projectGrantId: grant.id },
      resource: { orgId: call.orgId, projectId: grant.project_id, projectGrantId: grant.id },
    };
  },
  { read: 'project.grant.member.read', write: 'project.grant.member.write' },
);

// ...and so may the granted org's PROJECT_GRANT_OWNERs, from their side.
memberRoutes(
  api,
  '/granted_projects/{grantId}/members',
  tag,
  z.object({ grantId: id }),
  async (call, p) => {
    const grant = await receivedGrant(call.svc, call.orgId, p.grantId, null);
    return {
      target: { level: 'project_grant', projectId: grant.projectId, projectGrantId: grant.projectGrantId },
      resource: { orgId: grant.ownerOrgId, projectId: grant.projectId, projectGrantId: grant.projectGrantId },
    };
  },
  { read: 'project.grant.member.read', write: 'project.grant.member.write' },
);
