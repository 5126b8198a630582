import type { Knex } from 'knex';
import type { Metrics } from '../shared/metrics.js';
import type { OidcAdapter, Payload, PgAdapter } from './adapter.js';
import { currentProviderRequest } from './internals.js';

/**
 * Refresh token rotation that a crash or an outage cannot turn into a revoked family.
 *
 * oidc-provider's refresh grant (lib/actions/grants/refresh_token.js) writes in this order:
 * consume the presented token, save its successor, save the new access token, then sign the ID
 * token and answer. Stored as it comes, a failure after the consume (Redis refusing the access
 * token, a kill -9) leaves the presented token consumed and the client without its successor:
 * the client's retry then counts as reuse and revokes the whole family.
 *
 * So, during a refresh_token grant:
 * 1. consuming the presented token and saving the successor are only noted;
 * 2. when the access token is saved (the last write the response needs), it is stored first
 *    (Redis, or PostgreSQL), then the consume and the successor commit in one PostgreSQL
 *    transaction. Until that commit nothing is consumed; a failure before it leaves the
 *    presented token usable, and the retry simply works.
 * 3. After the commit only the ID token's signature and claims remain. Should they fail, or the
 *    answer never reach the client, the reuse grace covers the retry: the just-rotated token,
 *    presented again within the instance's refresh_token_reuse_grace_s (default 5 s) while its
 *    successor is still unused, gets a fresh answer (a new access token and successor) instead of
 *    revoking the family. Presented later, or after its successor was used, it is reuse: the
 *    family is revoked as before.
 */

interface Rotation {
  consumed?: string;
  successor?: { id: string; payload: Payload; expiresIn?: number };
}

const rotations = new WeakMap<object, Rotation>();

/** The rotation of the refresh_token grant being answered in this async context, if any. */
function currentRefresh(): Rotation | undefined {
  const ctx = currentProviderRequest();
  if (!ctx || ctx.oidc?.route !== 'token' || ctx.oidc.params?.grant_type !== 'refresh_token') return undefined;
  let rotation = rotations.get(ctx);
  if (!rotation) rotations.set(ctx, (rotation = {}));
  return rotation;
}

export interface RotationOptions {
  knex: Knex;
  instanceId: string;
  /** the instance's reuse grace, read per request (the provider is rebuilt when it changes) */
  graceS: () => number;
  metrics: Metrics;
}

/** The RefreshToken model's storage: PostgreSQL, with the grace applied on read and the rotation deferred. */
export function refreshTokenAdapter(pg: PgAdapter, opts: RotationOptions): OidcAdapter {
  return {
    upsert(id, payload, expiresIn) {
      const rotation = currentRefresh();
      if (rotation?.consumed && !rotation.successor) {
        rotation.successor = { id, payload, expiresIn };
        return Promise.resolve();
      }
      return pg.upsert(id, payload, expiresIn);
    },
    async find(id) {
      const row = await pg.findRefreshToken(id);
      if (!row) return undefined;
      if (!row.consumedAt) return row.payload;
      const inRefresh = currentRefresh() !== undefined;
      // Both times are the database's (consumed_at is set by now() there): no clock skew between nodes.
      const withinGrace = row.consumedAgeMs <= opts.graceS() * 1000 && row.successorUnused;
      if (withinGrace && inRefresh) {
        opts.metrics.refreshReuse('grace');
        return row.payload;
      }
      if (inRefresh) opts.metrics.refreshReuse('revoked');
      return { ...row.payload, consumed: Math.floor(row.consumedAt.getTime() / 1000) };
    },
    findByUid: (uid) => pg.findByUid(uid),
    findByUserCode: (code) => pg.findByUserCode(code),
    consume(id) {
      const rotation = currentRefresh();
      if (rotation && !rotation.consumed) {
        rotation.consumed = id;
        return Promise.resolve();
      }
      return pg.consume(id);
    },
    destroy: (id) => pg.destroy(id),
    revokeByGrantId: (grantId) => pg.revokeByGrantId(grantId),
  };
}

/** The AccessToken model's storage: as given, and the commit point of a pending rotation. */
export function accessTokenAdapter(inner: OidcAdapter, opts: RotationOptions): OidcAdapter {
  return {
    ...bind(inner),
    async upsert(id, payload, expiresIn) {
      await inner.upsert(id, payload, expiresIn);
      const rotation = currentRefresh();
      if (!rotation?.consumed) return;
      const { consumed, successor } = rotation;
      rotation.consumed = undefined;
      rotation.successor = undefined;
      await commitRotation(opts, consumed, successor);
    },
  };
}

function bind(a: OidcAdapter): OidcAdapter {
  return {
    upsert: a.upsert.bind(a),
    find: a.find.bind(a),
    findByUid: a.findByUid.bind(a),
    findByUserCode: a.findByUserCode.bind(a),
    consume: a.consume.bind(a),
    destroy: a.destroy.bind(a),
    revokeByGrantId: a.revokeByGrantId.bind(a),
  };
}

async function commitRotation(opts: RotationOptions, consumedId: string, successor: Rotation['successor']): Promise<void> {
  await opts.knex.transaction(async (trx) => {
    if (successor) {
      await trx('oidc_payloads').insert({
        instance_id: opts.instanceId,
        model: 'RefreshToken',
        id: successor.id,
        payload: JSON.stringify(successor.payload),
        grant_id: successor.payload.grantId ?? null,
        expires_at: successor.expiresIn ? new Date(Date.now() + successor.expiresIn * 1000) : null,
      });
    }
    // The first consume counts for the grace: a retry within it does not extend it.
    await trx('oidc_payloads')
      .where({ instance_id: opts.instanceId, model: 'RefreshToken', id: consumedId })
      .update({ consumed_at: trx.raw('coalesce(consumed_at, now())'), successor_id: successor?.id ?? null });
  });
}
