import { parseArgs } from 'node:util';
import { pino } from 'pino';
import type { Config } from '../config/schema.js';
import { Scope } from '../db/scope.js';
import { appendEvent } from '../domain/audit/repository.js';
import { getInstance, listInstanceIds } from '../domain/instance/repository.js';
import { cliPrincipal } from '../domain/principal.js';
import { createRuntime } from '../runtime/index.js';
import { rotateSigningKeys, type SigningAlg } from '../oidc/keys.js';

/**
 * `tessera keys rotate [--instance ID] [--alg RS256|ES256]`: one step of a key rotation.
 * The first run publishes a `next` key (in JWKS, not signing); the next run makes it sign and
 * retires the old key, which stays in JWKS until every token it signed has expired. Relying
 * parties therefore always see a key before a token signed by it.
 */
export async function keysCommand(config: Config, args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { instance: { type: 'string' }, alg: { type: 'string' } },
  });
  const alg = values.alg?.toUpperCase();
  if (positionals[0] !== 'rotate' || positionals.length !== 1 || (alg !== undefined && alg !== 'RS256' && alg !== 'ES256')) {
    process.stderr.write('usage: tessera keys rotate [--instance ID] [--alg RS256|ES256]\n');
    return 2;
  }
  const log = pino({ level: 'warn' }, pino.destination(2));
  const rt = await createRuntime(config, { log, migrate: false });
  try {
    const ids = values.instance ? [values.instance] : await listInstanceIds(rt.db.knex);
    for (const instanceId of ids) {
      const scope = new Scope(rt.db.knex, instanceId);
      const instance = await getInstance(scope);
      if (!instance) {
        process.stderr.write(`no instance ${instanceId}\n`);
        return 1;
      }
      // A retired key must verify the longest-lived token it signed, plus clock tolerance.
      const retainS = Math.max(instance.access_token_lifetime_s, instance.id_token_lifetime_s) + 60;
      const result = await scope.transaction(async (tx) => {
        const r = await rotateSigningKeys(tx, rt.deps.box, { alg: alg as SigningAlg | undefined, retainS });
        await appendEvent(tx, cliPrincipal, { resourceType: 'instance', resourceId: instanceId, type: 'instance.signing_key.rotated', payload: { ...r } });
        return r;
      });
      await rt.deps.changes.publish(instanceId);
      const line = result.published
        ? `published next key ${result.published} (in JWKS, not signing yet; run again to make it sign)`
        : `key ${result.activated} signs now; ${result.retired ? `key ${result.retired} retired, kept in JWKS for ${retainS}s` : 'no previous key'}`;
      process.stdout.write(`${instanceId}: ${line}\n`);
    }
  } finally {
    await rt.close();
  }
  return 0;
}
