import type { Knex } from 'knex';
import type { Scope } from '../db/scope.js';

/** A stored notification as the sender claims it; the payload is sealed (SecretBox). */
export interface OutboxRow {
  instance_id: string;
  id: string;
  user_id: string;
  payload: string;
  attempts: number;
}

/** Stores a notification, due at once. */
export async function insertOutboxRow(scope: Scope, row: Pick<OutboxRow, 'id' | 'user_id' | 'payload'>): Promise<void> {
  await scope.insert('mail_outbox', row);
}

/**
 * Claims up to `batch` due rows of every instance (the sender serves them all) and leases them
 * for `leaseS` seconds, in one statement: FOR UPDATE SKIP LOCKED, so two senders never take the
 * same row, and a row whose sender died is due again when its lease ends.
 */
export async function claimDueOutboxRows(knex: Knex, leaseS: number, batch: number): Promise<OutboxRow[]> {
  const { rows } = await knex.raw<{ rows: OutboxRow[] }>(
    `UPDATE mail_outbox SET attempts = attempts + 1, next_attempt_at = now() + make_interval(secs => ?)
      WHERE (instance_id, id) IN (
        SELECT instance_id, id FROM mail_outbox WHERE failed_at IS NULL AND next_attempt_at <= now()
         ORDER BY next_attempt_at LIMIT ? FOR UPDATE SKIP LOCKED)
      RETURNING instance_id, id, user_id, payload, attempts`,
    [leaseS, batch],
  );
  return rows;
}

/** A sent row goes. */
export async function deleteOutboxRow(scope: Scope, id: string): Promise<number> {
  return scope.table('mail_outbox').where({ id }).delete();
}

/** A failed attempt: tried again `delayS` seconds from now, its error kept. */
export async function retryOutboxRowLater(scope: Scope, id: string, error: string, delayS: number): Promise<number> {
  return scope
    .table('mail_outbox')
    .where({ id })
    .update({ last_error: error, next_attempt_at: scope.expression('now() + make_interval(secs => ?)', [delayS]) });
}

/** The last attempt failed: the row stays, never tried again, with its error. */
export async function markOutboxRowFailed(scope: Scope, id: string, error: string): Promise<number> {
  return scope
    .table('mail_outbox')
    .where({ id })
    .update({ failed_at: scope.expression('now()'), last_error: error });
}
