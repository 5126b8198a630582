import { idpRoutes } from '../idps.js';
import { policyRoutes } from '../policies.js';
import { labelAssetRoutes } from '../label-assets.js';
import { RouteList } from '../route.js';

/** The org's policies, label assets and IdPs (the same routes as the Admin API's, at org level). */
export const api = new RouteList();
policyRoutes(api, 'org');
labelAssetRoutes(api, 'org');
idpRoutes(api, 'org');
