import type { Permission } from '../authz/index.js';
import type { Config } from '../config/schema.js';
import type { Scope } from '../db/scope.js';
import type { PasswordHasher, SecretBox } from '../shared/crypto.js';
import type { ChangeBus } from '../shared/changes.js';
import type { Metrics } from '../shared/metrics.js';
import type { Outbound } from '../shared/outbound.js';
import type { ChallengeStore } from './passkey/challenge-store.js';
import type { Principal } from './principal.js';

/** What every service needs, built once at start-up and passed in (no global singletons). */
export interface ServiceDeps {
  config: Config;
  hasher: PasswordHasher;
  box: SecretBox;
  changes: ChangeBus;
  /** counters for /metrics (src/ops/metrics.ts); absent in tools that keep none */
  metrics?: Metrics;
  /** state kept outside the database (Redis), dropped with its instance; absent without Redis */
  shortLivedState?: ShortLivedState;
  /** where passkey ceremonies' challenges wait (Redis when configured); PostgreSQL when absent */
  challenges?: ChallengeStore;
  /** connections to addresses tenants configure (IdPs, SMS webhook, SMTP), checked against config.outbound */
  outbound: Outbound;
}

export interface ShortLivedState {
  /** Removes everything kept for the instance (provider state, login throttle counters). */
  forgetInstance(instanceId: string): Promise<void>;
}

/** One call's context: the instance it acts in, who acts, and the shared dependencies. */
export interface ServiceContext {
  deps: ServiceDeps;
  scope: Scope;
  actor: Principal;
  /**
   * When set, every permission the call's services consult is added here (see
   * src/domain/authorization.ts); the API checks it against the permission a route documents.
   */
  checked?: Set<Permission>;
  /**
   * Set (to {}) by a caller whose whole request only reads, e.g. a console page: the actor's
   * memberships are then loaded once for all the permission checks of the request instead of
   * once per check. Never set it on a request that writes: a change to memberships would go unseen.
   */
  readOnlyRequest?: { memberships?: Promise<unknown[]> };
  /**
   * Reads kept per process until PostgreSQL's notice of a write to their tables (the OIDC claims
   * cache); set by the API on requests that only read, so a write never acts on a kept value.
   */
  kept?: KeptReads;
}

/** See src/oidc/claims-cache.ts (`caller`, `sync`). */
export interface KeptReads {
  /** `slot` of `key` (a user id, a token's hash, `org:<id>`): kept until a notice names the key or its instance, or TTL */
  caller<T extends object>(instanceId: string, key: string, slot: string, load: () => Promise<T | undefined>): Promise<T | undefined>;
  /** resolves once this process has heard the notices of everything committed before */
  sync(): Promise<void>;
}
