import lockfile from 'proper-lockfile';

/**
 * The embedded database (PGlite) admits one process at a time: a second process opening the same
 * files reads a snapshot, and what it writes is lost when the first one next writes (`tessera
 * apply` beside a running server reported success and lost its changes). So whichever process
 * opens the data directory holds a lock on it until it closes, and any other is refused.
 *
 * proper-lockfile keeps the lock fresh while the process lives (a busy event loop does not lose
 * it) and removes it on exit; a process killed outright leaves it stale after STALE_MS, and the
 * next one takes it over.
 */
const STALE_MS = 10_000;

export class DataDirInUseError extends Error {
  constructor(readonly dir: string) {
    super(
      `the data directory ${dir} is in use by another Tessera process (a running server?): the embedded database admits one process ` +
        'at a time, so stop the server and run the command again, or run Tessera on PostgreSQL (DATABASE_URL)',
    );
  }
}

/**
 * Locks `dir` for this process; resolves to the release. `waitForStale` (a server starting) waits
 * out the lock of a process that was killed; without it (the CLI) a held lock fails at once.
 */
export async function lockDataDir(dir: string, opts: { waitForStale: boolean }): Promise<() => Promise<void>> {
  try {
    return await lockfile.lock(dir, {
      stale: STALE_MS,
      realpath: false,
      retries: opts.waitForStale ? { retries: Math.ceil((STALE_MS * 1.5) / 1000), factor: 1, minTimeout: 1000, maxTimeout: 1000 } : 0,
      onCompromised: (err) => {
        // Another process took the directory over: two writers would corrupt it, so this one stops.
        throw new Error(`lost the lock on the data directory ${dir} (${err.message}); stopping rather than writing beside another process`);
      },
    });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ELOCKED') throw new DataDirInUseError(dir);
    throw err;
  }
}
