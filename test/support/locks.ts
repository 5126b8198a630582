import type { Knex } from 'knex';
import { eventually } from './eventually.js';

/** The backend pid of a connection (of a transaction, to find who waits for it). */
export async function backendPid(conn: Knex | Knex.Transaction): Promise<number> {
  return (await conn.raw('select pg_backend_pid() as pid')).rows[0].pid;
}

/**
 * Whether another connection came to wait for a lock that backend `pid` holds (row locks and
 * advisory locks alike), within `timeoutMs`. Lets a test hold a transaction open exactly until
 * the write it races has reached the lock, instead of sleeping and hoping it has.
 */
export async function someoneWaitsFor(knex: Knex, pid: number, timeoutMs = 5000): Promise<boolean> {
  const waiting = await eventually(
    async () => (await knex.raw('select count(*)::int as n from pg_stat_activity where ? = any(pg_blocking_pids(pid))', [pid])).rows[0].n as number,
    (n) => n > 0,
    timeoutMs,
  );
  return waiting > 0;
}
