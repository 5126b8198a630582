import type { LRUCache } from 'lru-cache';
import { growingLru } from '../shared/lru.js';
import type { Metrics } from '../shared/metrics.js';
import type { Scope } from '../db/scope.js';
import type { PasswordHasher } from '../shared/crypto.js';
import { constantTimeEqual, sha256 } from '../shared/crypto.js';
import { builtInClientMetadata, isBuiltInClient, type BuiltInClientId } from './builtin-clients.js';
import { applicationByClientId, machineByClientId, machineKeys, type ApplicationRow } from './repository.js';

/**
 * Clients are the instance's applications (and, for client_credentials, its machine users),
 * read from the database on demand. Secrets are stored argon2id-hashed, which oidc-provider
 * cannot compare: clients carry a placeholder secret, and `verifyClientSecret` (installed on
 * the provider's Client class) checks the presented secret against the hash instead.
 */

/** Extra metadata carried on each client so account claims and policies can find their settings. */
export const CLIENT_EXTRA = ['tessera_kind', 'tessera_project_id', 'tessera_app_type', 'tessera_flags', 'tessera_skip_consent', 'tessera_machine_id'] as const;

export interface ClientFlags {
  idTokenRoleAssertion: boolean;
  accessTokenRoleAssertion: boolean;
  idTokenUserinfoAssertion: boolean;
  accessTokenType: 'jwt' | 'opaque';
}

const ALLOWED_GRANTS = new Set(['authorization_code', 'refresh_token']);
const SECRET_METHODS = new Set(['client_secret_basic', 'client_secret_post']);

function placeholderSecret(hash: string): string {
  // Never the hash itself: a symmetric algorithm must never be able to key off stored material.
  return `unusable-${sha256(`placeholder:${hash}`)}`;
}

export function applicationMetadata(app: ApplicationRow, signingAlg: string): Record<string, unknown> {
  const api = app.app_type === 'api';
  const grantTypes = api ? [] : app.grant_types.filter((g) => ALLOWED_GRANTS.has(g));
  const meta: Record<string, unknown> = {
    client_id: app.client_id,
    client_name: app.name,
    application_type: app.app_type === 'native' ? 'native' : 'web',
    token_endpoint_auth_method: app.auth_method,
    // Implicit and hybrid flows are refused: code only.
    response_types: grantTypes.includes('authorization_code') ? ['code'] : [],
    grant_types: grantTypes,
    redirect_uris: api ? [] : app.redirect_uris,
    post_logout_redirect_uris: api ? [] : app.post_logout_redirect_uris,
    id_token_signed_response_alg: signingAlg,
    // Relying parties (and the OpenID conformance plans) rely on auth_time being present.
    require_auth_time: true,
    tessera_kind: 'application',
    tessera_project_id: app.project_id,
    tessera_app_type: app.app_type,
    tessera_skip_consent: app.skip_consent,
    tessera_flags: {
      idTokenRoleAssertion: app.id_token_role_assertion,
      accessTokenRoleAssertion: app.access_token_role_assertion,
      idTokenUserinfoAssertion: app.id_token_userinfo_assertion,
      accessTokenType: app.access_token_type,
    } satisfies ClientFlags,
  };
  if (SECRET_METHODS.has(app.auth_method)) meta.client_secret = placeholderSecret(app.client_secret_hash ?? app.client_id);
  if (app.auth_method === 'private_key_jwt') meta.jwks = app.jwks ?? { keys: [] };
  return meta;
}

type MachineKeyRow = { jwk: Record<string, unknown>; expiresAt: number | null };

/** What the directory remembers per client id; `missing` caches a miss (an unknown or inactive id). */
type Entry =
  | { kind: 'app'; meta: Record<string, unknown>; hash: string | null }
  | { kind: 'machine'; meta: Record<string, unknown>; hash: string | null; keys: MachineKeyRow[] | null }
  | { kind: 'missing' };

const MISSING: Entry = { kind: 'missing' };

/**
 * Successful secret checks, so argon2 runs once per (instance, client, secret, stored hash), not
 * once per request. One per process, outside the providers: a provider rebuilt after a change
 * notice (or evicted and built again) does not make every machine client pay argon2 again. A new
 * secret is a new stored hash, hence a new key.
 */
export function verifiedSecrets(): LRUCache<string, true> {
  return growingLru<string, true>(20_000, { ttl: 10 * 60_000 });
}

export class ClientDirectory {
  /**
   * Applications and machine users by client id, misses included. Safe to keep for the life of
   * this directory: every change to an application or a machine user (state, username, secret,
   * keys) publishes a notice, which drops the whole provider (and this directory) in every process.
   * Loads in flight are shared, so a burst on a cold client costs one read. The TTL only bounds
   * staleness should a notice be lost (Redis pub/sub does not replay what a dropped subscriber missed).
   */
  private readonly entries = growingLru<string, Promise<Entry>>(5000, { ttl: 60_000 });

  constructor(
    private readonly scope: Scope,
    private readonly hasher: PasswordHasher,
    private readonly signingAlg: () => string,
    /** Tessera's own apps (builtin-clients.ts): their URIs follow this provider's origin. */
    private readonly builtIn?: { origin: string; secret: (clientId: BuiltInClientId) => string },
    private readonly metrics?: Metrics,
    /** successful secret checks, shared by all providers of the process (see verifiedSecrets) */
    private readonly verified: LRUCache<string, true> = verifiedSecrets(),
  ) {}

  private entry(clientId: string): Promise<Entry> {
    let entry = this.entries.get(clientId);
    this.metrics?.cache('clients', entry !== undefined);
    if (!entry) {
      entry = this.load(clientId);
      // A failed read must not stay cached.
      entry.catch(() => {
        if (this.entries.get(clientId) === entry) this.entries.delete(clientId);
      });
      this.entries.set(clientId, entry);
    }
    return entry;
  }

  private async load(clientId: string): Promise<Entry> {
    const app = await applicationByClientId(this.scope, clientId);
    if (app) {
      if (app.state !== 'active') return MISSING;
      return { kind: 'app', meta: applicationMetadata(app, this.signingAlg()), hash: app.client_secret_hash };
    }
    const machine = await machineByClientId(this.scope, clientId);
    if (!machine || machine.state !== 'active') return MISSING;
    const keys = machine.client_secret_hash
      ? null
      : (await machineKeys(this.scope, machine.id)).map((k) => ({
          jwk: { ...k.public_jwk, kid: k.public_jwk.kid ?? k.id },
          expiresAt: k.expires_at ? new Date(k.expires_at).getTime() : null,
        }));
    return {
      kind: 'machine',
      hash: machine.client_secret_hash,
      keys,
      meta: {
        client_id: clientId,
        client_name: machine.name ?? machine.username,
        grant_types: ['client_credentials'],
        response_types: [],
        redirect_uris: [],
        ...(machine.client_secret_hash
          ? { token_endpoint_auth_method: 'client_secret_basic', client_secret: placeholderSecret(machine.client_secret_hash) }
          : { token_endpoint_auth_method: 'private_key_jwt' }),
        tessera_kind: 'machine',
        tessera_machine_id: machine.id,
        tessera_flags: {
          idTokenRoleAssertion: false,
          accessTokenRoleAssertion: true,
          idTokenUserinfoAssertion: false,
          accessTokenType: machine.access_token_type,
        },
      },
    };
  }

  async find(clientId: string): Promise<Record<string, unknown> | undefined> {
    if (this.builtIn && isBuiltInClient(clientId)) return builtInClientMetadata(clientId, this.builtIn.origin, this.signingAlg());
    const entry = await this.entry(clientId);
    if (entry.kind === 'missing') return undefined;
    if (entry.kind === 'app' || !entry.keys) return entry.meta;
    // Key expiry passes without a notice: filter on every use, not at load.
    const now = Date.now();
    return { ...entry.meta, jwks: { keys: entry.keys.filter((k) => k.expiresAt === null || k.expiresAt > now).map((k) => k.jwk) } };
  }

  async verifySecret(clientId: string, presented: string | undefined): Promise<boolean> {
    if (!presented) return false;
    if (this.builtIn && isBuiltInClient(clientId)) return constantTimeEqual(this.builtIn.secret(clientId), presented);
    const entry = await this.entry(clientId);
    const hash = entry.kind === 'missing' ? null : entry.hash;
    if (!hash) return false;
    const cacheKey = `${this.scope.instanceId}\0${clientId}\0${sha256(`${hash}\0${presented}`)}`;
    if (this.verified.get(cacheKey)) return true;
    const ok = await this.hasher.verify(hash, presented);
    if (ok) this.verified.set(cacheKey, true);
    return ok;
  }
}
