/**
 * Probes until `ok` holds or time runs out, then returns the last value for the test to assert
 * on. For changes that cross processes (Redis pub/sub, PostgreSQL NOTIFY): they arrive a moment
 * after the write commits, and a test that checked only once would race them.
 */
export async function eventually<T>(probe: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 3000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (ok(v) || Date.now() > until) return v;
    await new Promise((r) => setTimeout(r, 25));
  }
}
