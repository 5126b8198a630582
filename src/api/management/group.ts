import { managementContext } from '../authenticate.js';
import { ApiGroup } from '../route.js';

/** Management API: everything inside one org (x-zitadel-orgid / x-org-id, else the caller's org). */
export const managementApi = new ApiGroup('/management/v1', 'Management', 'bearer', managementContext);
