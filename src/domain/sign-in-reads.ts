import type { LRUCache } from 'lru-cache';
import { Scope } from '../db/scope.js';
import { growingLru } from '../shared/lru.js';
import type { Metrics } from '../shared/metrics.js';
import { listIdps, type IdpRow } from './idp/repository.js';
import { getInstance, type InstanceRow } from './instance/repository.js';
import { findOrgByVerifiedDomain, getOrg, primaryOrgDomain, type OrgRow } from './org/repository.js';
import { labelAssetStamps, type AssetKind } from './policy/label-assets.js';
import type { PolicyKind, PolicySettings } from './policy/schemas.js';
import { getEffectivePolicy, getOrgPolicyOverride } from './policy/service.js';
import { instanceServesDomain } from './passkey/repository.js';
import { findProjectOfClient, type PrivateLabelingSetting } from './project/repository.js';

/**
 * The instance's settings every login page reads: policies, label assets, orgs and their
 * domains, the instance row, the project of the signing-in client, the IdPs. A login page
 * resolves its org context and look from them once or twice per request (src/login/look.ts),
 * which came to about 40 queries per sign-in. Users, their credentials and grants are never read
 * through here: they change without a change notice.
 */
export interface SignInReads {
  policy<K extends PolicyKind>(kind: K, orgId?: string | null): Promise<PolicySettings<K>>;
  orgPolicyOverride<K extends PolicyKind>(orgId: string, kind: K): Promise<PolicySettings<K> | undefined>;
  labelAssetStamps(orgId: string | null): Promise<Map<AssetKind, { owner: string; v: number }>>;
  org(orgId: string): Promise<OrgRow | undefined>;
  orgByVerifiedDomain(domain: string): Promise<OrgRow | undefined>;
  orgPrimaryDomain(orgId: string): Promise<string | undefined>;
  instance(): Promise<InstanceRow | undefined>;
  projectOfClient(clientId: string): Promise<{ orgId: string; privateLabeling: PrivateLabelingSetting } | undefined>;
  /** the IdPs of the instance and, with an org, of that org too */
  idps(orgId: string | null): Promise<IdpRow[]>;
  /** whether `domain` is one of the instance's own (a passkey's relying party ID must be) */
  servesDomain(domain: string): Promise<boolean>;
}

async function projectOfClient(scope: Scope, clientId: string) {
  const p = await findProjectOfClient(scope, clientId);
  return p ? { orgId: p.org_id, privateLabeling: p.private_labeling_setting } : undefined;
}

/** Straight from the database, each call a query (outside a provider: the console's preview, mails, the account page). */
export function directSignInReads(scope: Scope): SignInReads {
  return {
    policy: (kind, orgId) => getEffectivePolicy(scope, kind, orgId),
    orgPolicyOverride: (orgId, kind) => getOrgPolicyOverride(scope, orgId, kind),
    labelAssetStamps: (orgId) => labelAssetStamps(scope, orgId),
    org: (orgId) => getOrg(scope, orgId),
    orgByVerifiedDomain: (domain) => findOrgByVerifiedDomain(scope, domain),
    orgPrimaryDomain: (orgId) => primaryOrgDomain(scope, orgId),
    instance: () => getInstance(scope),
    projectOfClient: (clientId) => projectOfClient(scope, clientId),
    idps: (orgId) => listIdps(scope, { orgId }),
    servesDomain: (domain) => instanceServesDomain(scope, domain),
  };
}

/**
 * The same reads kept for the life of one instance's provider (src/oidc/provider.ts builds one
 * per provider). Every write to what is kept here publishes a change notice (policies, label
 * assets, orgs and their domains, projects and applications, IdPs, instance settings), and a
 * notice drops the instance's providers, with this cache, in every process (src/oidc/pool.ts).
 * The TTL only bounds staleness should a notice be lost or a write bypass the services. Failures
 * and missing rows are not kept (an org, a domain or an app may be added by SQL, as tests and
 * `tessera apply` do); an org without a policy override is. Values are shared: callers must not
 * change them.
 */
export class CachedSignInReads implements SignInReads {
  private readonly entries: LRUCache<string, Promise<unknown>>;
  private readonly direct: SignInReads;

  constructor(
    scope: Scope,
    private readonly metrics?: Metrics,
    opts: { entries?: number; ttlMs?: number } = {},
  ) {
    this.direct = directSignInReads(scope);
    this.entries = growingLru(opts.entries ?? 2000, { ttl: opts.ttlMs ?? 60_000 });
  }

  /** keepMisses: an answer of undefined is kept too (an org without its own policy: only a service writes one, and publishes). */
  private remember<T>(key: string, read: () => Promise<T>, keepMisses = false): Promise<T> {
    const cache = this.entries;
    const known = cache.get(key) as Promise<T> | undefined;
    this.metrics?.cache('sign_in', known !== undefined);
    if (known) return known;
    const p = read();
    cache.set(key, p);
    p.then(
      (v) => {
        if (v === undefined && !keepMisses && cache.get(key) === p) cache.delete(key);
      },
      () => {
        if (cache.get(key) === p) cache.delete(key);
      },
    );
    return p;
  }

  policy<K extends PolicyKind>(kind: K, orgId?: string | null): Promise<PolicySettings<K>> {
    return this.remember(`policy|${kind}|${orgId ?? ''}`, () => this.direct.policy(kind, orgId));
  }
  orgPolicyOverride<K extends PolicyKind>(orgId: string, kind: K): Promise<PolicySettings<K> | undefined> {
    return this.remember(`override|${kind}|${orgId}`, () => this.direct.orgPolicyOverride(orgId, kind), true);
  }
  labelAssetStamps(orgId: string | null) {
    return this.remember(`assets|${orgId ?? ''}`, () => this.direct.labelAssetStamps(orgId));
  }
  org(orgId: string) {
    return this.remember(`org|${orgId}`, () => this.direct.org(orgId));
  }
  orgByVerifiedDomain(domain: string) {
    return this.remember(`domain|${domain.toLowerCase()}`, () => this.direct.orgByVerifiedDomain(domain));
  }
  orgPrimaryDomain(orgId: string) {
    return this.remember(`primary|${orgId}`, () => this.direct.orgPrimaryDomain(orgId));
  }
  instance() {
    return this.remember('instance', () => this.direct.instance());
  }
  projectOfClient(clientId: string) {
    return this.remember(`client|${clientId}`, () => this.direct.projectOfClient(clientId));
  }
  idps(orgId: string | null) {
    return this.remember(`idps|${orgId ?? ''}`, () => this.direct.idps(orgId));
  }
  /** Only a yes is kept (a domain added by SQL counts at once); adding or removing one publishes a change notice. */
  async servesDomain(domain: string): Promise<boolean> {
    return Boolean(await this.remember(`served|${domain.toLowerCase()}`, async () => (await this.direct.servesDomain(domain)) || undefined));
  }
}

/** The reads of a provider's login (cached) or, given a plain Scope, straight from the database. */
export function readsOf(source: Scope | SignInReads): SignInReads {
  return source instanceof Scope ? directSignInReads(source) : source;
}
