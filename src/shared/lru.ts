import { LRUCache } from 'lru-cache';

/**
 * An LRU cache bounded to `entries` entries whose storage grows with use. lru-cache's `max`
 * allocates arrays for all `max` entries up front (and two more with a TTL): a few thousand-entry
 * caches in every instance's provider came to ~600 KiB per provider before it held anything. A
 * `maxSize` counting each entry as 1 bounds the same way without the preallocation.
 */
export function growingLru<K extends NonNullable<unknown>, V extends NonNullable<unknown>>(
  entries: number,
  opts: Omit<LRUCache.Options<K, V, unknown>, 'max' | 'maxSize' | 'sizeCalculation'> = {},
): LRUCache<K, V> {
  return new LRUCache<K, V>({ ...opts, maxSize: entries, sizeCalculation: () => 1 } as LRUCache.Options<K, V, unknown>);
}
