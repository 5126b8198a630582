import type { ChangeBus } from '../shared/changes.js';
import type { ServiceContext } from './deps.js';

/**
 * Runs `fn` in one transaction whose change notices (ctx.deps.changes) are held until it commits,
 * then sent; none when it rolls back. Sent earlier, a notice could reach another process before
 * the change is visible there: it would drop its caches, fill them again from the old rows and
 * keep those until the next notice. Inside a transaction already, `fn` joins it and the
 * outermost caller's hold applies.
 */
export async function transactionHoldingNotices<R>(ctx: ServiceContext, fn: (ctx: ServiceContext) => Promise<R>): Promise<R> {
  if (ctx.scope.inTransaction) return fn(ctx);
  const changes = ctx.deps.changes;
  const held = new Set<string>();
  const holding: ChangeBus = {
    publish: async (instanceId) => void held.add(instanceId),
    subscribe: (listener) => changes.subscribe(listener),
    close: async () => undefined,
  };
  const result = await ctx.scope.transaction((scope) => fn({ ...ctx, scope, deps: { ...ctx.deps, changes: holding } }));
  for (const instanceId of held) await changes.publish(instanceId);
  return result;
}
