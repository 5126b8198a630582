import type { Middleware } from 'koa';
import type { Permission } from '../../authz/index.js';
import { orgInReach } from '../../domain/org/queries.js';
import { consoleState } from '../context.js';
import { notFoundPage } from '../render.js';

/**
 * For the instance administrator's pages (/ui/console/instance/…): the caller must hold
 * `permission` on the instance, else the page is the console's 404 like anything out of reach.
 * The org last worked in stays in context, so the navigation stays too.
 */
export function atInstance(permission: Permission): Middleware {
  return async (ctx, next) => {
    const c = consoleState(ctx);
    if (!c.perms.can(permission, {})) return notFoundPage(ctx);
    const remembered = c.orgChoices.find((o) => o.id === c.session.data.orgId) ?? c.orgChoices[0];
    if (remembered) c.org = await orgInReach(c.svc, remembered.id);
    await next();
  };
}
