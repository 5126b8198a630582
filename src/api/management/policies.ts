import { idpRoutes } from '../idps.js';
import { policyRoutes } from '../policies.js';
import { labelAssetRoutes } from '../label-assets.js';
import { managementApi } from './group.js';

policyRoutes(managementApi, 'org');
labelAssetRoutes(managementApi, 'org');
idpRoutes(managementApi, 'org');
