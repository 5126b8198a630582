import { isDeepStrictEqual } from 'node:util';
import type { ServiceContext, ServiceDeps } from '../domain/deps.js';
import { orgSlug } from '../domain/org/repository.js';
import { policySchemas, type PolicyKind } from '../domain/policy/schemas.js';
import { newId } from '../shared/ids.js';
import type { SpecFile } from './load.js';
import { policyKeys, type InstanceSpec, type PolicyKey, type SpecPath } from './spec.js';
import type { StateIndex } from './state.js';

/**
 * One step of a plan: how it reads in the diff, where in the file it comes from (so a failure
 * names the line that asked for it), and the service call that performs it.
 */
export interface Change {
  sign: '+' | '~' | '-';
  text: string;
  path: SpecPath;
  run(ctx: ServiceContext): Promise<void>;
}

export const policyKind = (key: PolicyKey): PolicyKind => (key === 'passwordComplexity' ? 'password_complexity' : key);
export const policyKey = (kind: PolicyKind): PolicyKey => (kind === 'password_complexity' ? 'passwordComplexity' : kind);

/** `Alpha`, or `"Time Tracking"` when a name needs quoting to be read back. */
export function label(name: string): string {
  return /^[\w.@:/-]+$/.test(name) ? name : JSON.stringify(name);
}

export function show(v: unknown): string {
  if (v === undefined || v === null) return 'none';
  if (v instanceof Date) return v.toISOString();
  return JSON.stringify(v);
}

/**
 * Compares the fields a file states with what is stored. Only stated fields count, so leaving a
 * field out of the file never changes it. Returns `field a → b` descriptions and the patch.
 */
export function diffFields<T extends object>(pairs: [keyof T & string, unknown, unknown][]): { notes: string[]; patch: Partial<T> } {
  const notes: string[] = [];
  const patch: Partial<T> = {};
  for (const [field, current, desired] of pairs) {
    if (desired === undefined) continue;
    const a = current instanceof Date ? current.getTime() : (current ?? null);
    const b = desired instanceof Date ? desired.getTime() : (desired ?? null);
    if (isDeepStrictEqual(normalize(a), normalize(b))) continue;
    notes.push(`${field} ${show(current)} → ${show(desired)}`);
    (patch as Record<string, unknown>)[field] = desired;
  }
  return { notes, patch };
}

/** Key order never matters when comparing settings objects. */
function normalize(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(normalize);
  if (v && typeof v === 'object' && !(v instanceof Date)) {
    return Object.fromEntries(
      Object.entries(v)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([k, x]) => [k, normalize(x)]),
    );
  }
  return v;
}

export const sameSet = (a: readonly string[], b: readonly string[]) => a.length === b.length && [...a].sort().join('\u0000') === [...b].sort().join('\u0000');

/**
 * The planner's working knowledge of one instance: the stored state plus everything the plan
 * has decided so far. New objects get their ids at planning time (every service accepts one),
 * so later steps can refer to them before they exist.
 */
export class PlanContext {
  private readonly changes: Change[] = [];
  readonly warnings: string[] = [];
  readonly orgIds = new Map<string, string>();
  /** `${orgId}/${lower(username)}` → user id */
  readonly userIds = new Map<string, string>();
  /** `${orgId}/${project name}` → project id */
  readonly projectIds = new Map<string, string>();
  readonly projectOwner = new Map<string, string>();
  readonly projectRoles = new Map<string, Set<string>>();
  /** `${projectId}/${grantedOrgId}` → project grant id */
  readonly grantIds = new Map<string, string>();
  readonly grantRoles = new Map<string, Set<string>>();
  /** verified org domain → org id, for login names */
  readonly domainOrg = new Map<string, string>();
  /** The instance's primary domain once the plan has run (the file's first domain). */
  readonly primaryDomain: string;

  constructor(
    readonly file: SpecFile,
    readonly base: SpecPath,
    readonly spec: InstanceSpec,
    readonly idx: StateIndex,
    readonly deps: ServiceDeps,
    readonly env: NodeJS.ProcessEnv,
  ) {
    const s = idx.s;
    this.primaryDomain = spec.domains[0].toLowerCase();
    for (const o of s.orgs) this.orgIds.set(o.name, o.id);
    for (const u of s.users) this.userIds.set(`${u.org_id}/${u.username.toLowerCase()}`, u.id);
    for (const p of s.projects) {
      this.projectIds.set(`${p.org_id}/${p.name}`, p.id);
      this.projectOwner.set(p.id, p.org_id);
      this.projectRoles.set(p.id, new Set(idx.roles(p.id).map((r) => r.key)));
    }
    for (const g of s.grants) {
      this.grantIds.set(`${g.project_id}/${g.granted_org_id}`, g.id);
      this.grantRoles.set(g.id, new Set(g.role_keys));
    }
    for (const d of s.orgDomains) if (d.is_verified) this.domainOrg.set(d.domain, d.org_id);
  }

  /** Deactivations wait until everything else is in place: an inactive org or grant accepts no new users or user grants. */
  private readonly deferred: Change[] = [];

  add(sign: Change['sign'], text: string, path: SpecPath, run: Change['run'], opts: { last?: boolean } = {}): void {
    (opts.last ? this.deferred : this.changes).push({ sign, text, path: [...this.base, ...path], run });
  }

  /** The plan in the order it runs. */
  plan(): Change[] {
    return [...this.changes, ...this.deferred];
  }

  fail(path: SpecPath, reason: string): never {
    throw this.file.error([...this.base, ...path], reason);
  }

  /** A secret named by an environment reference; unset means "leave the stored secret alone". */
  secret(envName: string | undefined, what: string): string | undefined {
    if (!envName) return undefined;
    const v = this.env[envName];
    if (v === undefined || v === '') {
      this.warnings.push(`${envName} is not set: ${what} left as it is`);
      return undefined;
    }
    return v;
  }

  newId(): string {
    return newId();
  }

  /** The generated domain a new org will get. */
  generatedDomain(orgName: string): string {
    return `${orgSlug(orgName)}.${this.primaryDomain}`;
  }

  orgName(orgId: string): string {
    for (const [name, id] of this.orgIds) if (id === orgId) return name;
    return orgId;
  }

  /** `bob` (in contextOrg), `alice@Alpha` (username@org name) or an exact login name. */
  resolveUser(ref: string, contextOrgId: string | undefined, path: SpecPath): string {
    const at = ref.lastIndexOf('@');
    if (at < 0) {
      if (!contextOrgId) this.fail(path, `user "${ref}" needs an org: write username@Org or a login name`);
      const id = this.userIds.get(`${contextOrgId}/${ref.toLowerCase()}`);
      if (!id) this.fail(path, `unknown user "${ref}" in org ${label(this.orgName(contextOrgId))}`);
      return id;
    }
    const username = ref.slice(0, at).toLowerCase();
    const after = ref.slice(at + 1);
    const orgId = this.orgIds.get(after) ?? this.domainOrg.get(after.toLowerCase());
    const id = orgId && this.userIds.get(`${orgId}/${username}`);
    if (!id) this.fail(path, `unknown user "${ref}" (expected username@Org name or an exact login name)`);
    return id;
  }

  /** `Project` of the giving org, or `Org/Project`. */
  resolveProject(ref: string, contextOrgId: string, path: SpecPath): string {
    const own = this.projectIds.get(`${contextOrgId}/${ref}`);
    if (own) return own;
    const slash = ref.indexOf('/');
    const orgId = slash > 0 ? this.orgIds.get(ref.slice(0, slash)) : undefined;
    const id = orgId && this.projectIds.get(`${orgId}/${ref.slice(slash + 1)}`);
    if (!id) this.fail(path, `unknown project "${ref}" (expected a project of this org or Org/Project)`);
    return id;
  }

  /** Parses a policy as its schema does, so defaults fill in exactly as the service will store them. */
  parsePolicy(key: PolicyKey, settings: unknown, path: SpecPath): Record<string, unknown> {
    const parsed = policySchemas[policyKind(key)].safeParse(settings);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      this.fail([...path, ...issue.path.filter((p): p is string | number => typeof p !== 'symbol')], issue.message);
    }
    return parsed.data as Record<string, unknown>;
  }

  storedPolicy(kind: PolicyKind, orgId: string | null): Record<string, unknown> | undefined {
    const row = this.idx.policy(kind, orgId);
    if (!row) return undefined;
    const parsed = policySchemas[kind].safeParse(row.settings);
    return (parsed.success ? parsed.data : row.settings) as Record<string, unknown>;
  }

  async secretMatches(hash: string | null, plain: string): Promise<boolean> {
    return !!hash && this.deps.hasher.verify(hash, plain);
  }

  openSecret(sealed: string | null): string | undefined {
    if (!sealed) return undefined;
    try {
      return this.deps.box.decrypt(sealed);
    } catch {
      return undefined; // sealed under another key: treat as different, so apply re-seals it
    }
  }
}

export { policyKeys };
