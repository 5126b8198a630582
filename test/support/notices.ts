import type { ChangeBus } from '../../src/shared/changes.js';

/**
 * Resolves once `changes` has delivered `count` change notices for the instance; call it before
 * the write that publishes them. Listeners run in the order they subscribed, so by then every
 * cache subscribed earlier on the same bus (providers, mail transports) has dropped what it held.
 * With Redis, a process hears its own notice twice: at once, and again when Redis echoes it.
 */
export function noticesHeard(changes: ChangeBus, instanceId: string, count = 1, timeoutMs = 5000): Promise<void> {
  return new Promise((resolve, reject) => {
    let heard = 0;
    const timer = setTimeout(() => reject(new Error(`${heard} of ${count} change notices for ${instanceId} within ${timeoutMs} ms`)), timeoutMs);
    changes.subscribe((id) => {
      if (id === instanceId && ++heard === count) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
}

/**
 * What every process does on a change notice (drop its caches, read again from PostgreSQL), done
 * by a listener: `read` runs the moment each notice for the instance arrives. `seen()` awaits
 * every read; a notice sent before its change committed shows as a read of the old state.
 */
export function readOnNotice<T>(changes: ChangeBus, instanceId: string, read: () => Promise<T>): { seen(): Promise<T[]> } {
  const reads: Promise<T>[] = [];
  changes.subscribe((id) => {
    if (id === instanceId) reads.push(read());
  });
  return { seen: () => Promise.all(reads) };
}
