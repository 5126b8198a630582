/**
 * An oidc-provider adapter keeping everything in one Map, for the in-process providers that
 * stand beside Tessera in tests and in `npm run bench` (an upstream IdP, the bare yardstick).
 * oidc-provider's own memory adapter is an LRU of 1000 entries and warns on every start; this
 * one keeps every entry until it expires. One store per call, so two providers share nothing.
 */
export function memoryAdapter() {
  const store = new Map<string, { payload: Record<string, unknown>; expiresAt: number }>();
  return class MemoryAdapter {
    constructor(private readonly model: string) {}
    private key(id: string) {
      return `${this.model}:${id}`;
    }
    async upsert(id: string, payload: Record<string, unknown>, expiresIn?: number) {
      store.set(this.key(id), { payload, expiresAt: expiresIn ? Date.now() + expiresIn * 1000 : Infinity });
    }
    async find(id: string) {
      const hit = store.get(this.key(id));
      if (!hit || hit.expiresAt <= Date.now()) return undefined;
      return hit.payload;
    }
    async findByUid(uid: string) {
      for (const [key, { payload }] of store) if (key.startsWith(`${this.model}:`) && payload.uid === uid) return payload;
      return undefined;
    }
    async findByUserCode() {
      return undefined;
    }
    async consume(id: string) {
      const hit = store.get(this.key(id));
      if (hit) hit.payload.consumed = Math.floor(Date.now() / 1000);
    }
    async destroy(id: string) {
      store.delete(this.key(id));
    }
    async revokeByGrantId(grantId: string) {
      for (const [k, { payload }] of store) if (payload.grantId === grantId) store.delete(k);
    }
  };
}
