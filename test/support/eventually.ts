/**
 * Probes until `ok` holds or time runs out, then returns the last value for the test to assert
 * on. For changes that cross processes (Redis pub/sub, PostgreSQL NOTIFY): they arrive a moment
 * after the write commits, and a test that checked only once would race them. The limit is
 * generous because a probe that succeeds returns at once: only a failing test waits it out, and
 * on a CI machine running two suites' worth of processes a notice can take seconds.
 */
export async function eventually<T>(probe: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 10_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (ok(v) || Date.now() > until) return v;
    await new Promise((r) => setTimeout(r, 25));
  }
}

/**
 * Waits until the wall clock reaches `atMs`. Only for what is about time itself (an expiry): the
 * test computes the moment from what it observed (a token's iat, a row's expiry), so the wait is
 * exactly as long as the expiry needs, never a guess.
 */
export async function clockReaches(atMs: number): Promise<void> {
  while (Date.now() < atMs) await new Promise((r) => setTimeout(r, atMs - Date.now()));
}
