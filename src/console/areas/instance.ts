import { consoleState, paths } from '../context.js';
import type { ConsoleArea } from '../index.js';
import { renderConsole } from '../render.js';
import { brandingRoutes } from './branding.js';
import { idpRoutes } from './idps.js';
import { instanceDomainRoutes } from './instance-domains.js';
import { atInstance } from './instance-guard.js';
import { instanceManagerRoutes } from './instance-managers.js';
import { instanceOrgRoutes } from './instance-orgs.js';
import { instanceSettingsRoutes } from './instance-settings.js';
import { policyRoutes } from './policies.js';

/**
 * The instance administrator's pages (IAM_* managers), under /ui/console/instance: an overview
 * linking to each, the default policies and the instance IdPs (the org pages' editors at
 * instance level), and the instance's own settings. Without the permission, each is a 404.
 */
export const instanceArea: ConsoleArea = {
  nav: { key: 'instance', labelKey: 'nav.instance', order: 90, permission: 'iam.read', path: () => paths.instance },
  routes(router) {
    router.get('/instance', atInstance('iam.read'), async (ctx) => {
      const c = consoleState(ctx);
      const links = [
        { href: paths.instanceSettings, key: 'settings', allowed: true },
        { href: paths.instanceDomains, key: 'domains', allowed: true },
        { href: paths.instanceOrgs, key: 'orgs', allowed: c.perms.can('org.global.read', {}) },
        { href: paths.instanceManagers, key: 'managers', allowed: c.perms.can('iam.member.read', {}) },
        { href: paths.instancePolicies, key: 'policies', allowed: c.perms.can('iam.policy.read', {}) },
        { href: paths.instanceBranding, key: 'branding', allowed: c.perms.can('iam.policy.read', {}) },
        { href: paths.instanceIdps, key: 'idps', allowed: c.perms.can('iam.idp.read', {}) },
      ].filter((l) => l.allowed);
      await renderConsole(ctx, 'instance', { links }, { titleKey: 'instance.title', navKey: 'instance' });
    });
    policyRoutes(router, true);
    idpRoutes(router, true);
    brandingRoutes(router, true);
    instanceSettingsRoutes(router);
    instanceDomainRoutes(router);
    instanceOrgRoutes(router);
    instanceManagerRoutes(router);
  },
};
