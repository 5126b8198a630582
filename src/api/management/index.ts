// Each module registers its routes on the group when imported.
import './org.js';
import './users.js';
import './passkeys.js';
import './auth-factors.js';
import './projects.js';
import './apps.js';
import './grants.js';
import './members.js';
import './policies.js';
import './access.js';

export { managementApi } from './group.js';
