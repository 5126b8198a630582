import { managementContext } from '../authenticate.js';
import { ApiGroup } from '../route.js';
import { api as access } from './access.js';
import { api as apps } from './apps.js';
import { api as authFactors } from './auth-factors.js';
import { api as grants } from './grants.js';
import { api as idpLinks } from './idp-links.js';
import { api as machineCredentials } from './machine-credentials.js';
import { api as members } from './members.js';
import { api as org } from './org.js';
import { api as passkeys } from './passkeys.js';
import { api as policies } from './policies.js';
import { api as projects } from './projects.js';
import { api as sessions } from './sessions.js';
import { api as users } from './users.js';

/**
 * Management API: everything inside one org (x-zitadel-orgid / x-org-id, else the caller's org),
 * assembled here from each module's routes, in this order (the OpenAPI document follows it).
 */
export const managementApi = new ApiGroup('/management/v1', 'Management', 'bearer', managementContext, [
  org,
  users,
  idpLinks,
  machineCredentials,
  passkeys,
  authFactors,
  sessions,
  projects,
  apps,
  grants,
  members,
  policies,
  access,
]);
