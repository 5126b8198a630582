import type { Knex } from 'knex';
import { Scope } from '../db/scope.js';
import type { ServiceDeps } from '../domain/deps.js';
import { createInstance } from '../domain/instance/service.js';
import { cliPrincipal } from '../domain/principal.js';
import { DomainError } from '../shared/errors.js';
import type { ChangeBus } from '../shared/changes.js';
import type { SpecFile } from './load.js';
import { announcements } from './ops.js';
import { planMembers, planProjectGrants, planProjects, planUserGrants } from './plan-access.js';
import { planInstanceSettings, planOrgs, planUsers } from './plan-identity.js';
import { label, PlanContext, type Change } from './plan.js';
import type { InstanceSpec, SpecPath } from './spec.js';
import { findInstanceByDomains, instanceExists, readInstanceState, StateIndex } from './state.js';

export interface ApplyResult {
  changes: number;
  dryRun: boolean;
}

/** Thrown to roll a dry run back once it has played every change. */
class DryRunRollback extends Error {}

/** Caches are told once, after the commit, not after each service call inside the transaction. */
const quietBus: ChangeBus = { publish: async () => {}, subscribe: () => {}, close: async () => {} };

/**
 * Applies a file: per instance, reads the stored state, computes the changes, prints them as a
 * diff and performs them through the services, all in ONE transaction, so a failure anywhere
 * leaves everything as it was. A dry run plays the same changes and rolls back, so the plan it
 * prints is exactly what a real run would do.
 */
export async function applyFile(
  knex: Knex,
  deps: ServiceDeps,
  file: SpecFile,
  opts: { dryRun?: boolean; env?: NodeJS.ProcessEnv; print?: (line: string) => void } = {},
): Promise<ApplyResult> {
  const print = opts.print ?? ((line: string) => process.stdout.write(`${line}\n`));
  const quietDeps: ServiceDeps = { ...deps, changes: quietBus };
  const touched = new Set<string>();
  const warnings = new Set<string>();
  let count = 0;
  announcements.length = 0;
  try {
    await knex.transaction(async (trx) => {
      for (const [i, spec] of file.spec.instances.entries()) {
        const base: SpecPath = ['instances', i];
        let instanceId = await matchInstance(trx, file, base, spec);
        print(`instance ${spec.domains[0]}`);
        if (!instanceId) {
          instanceId = await createFromSpec(trx, quietDeps, file, base, spec, opts.env ?? process.env);
          print(`+ instance ${label(spec.name ?? spec.domains[0])} (${spec.domains.join(', ')}) with its default org and first admin`);
          count++;
        }
        const scope = new Scope(trx, instanceId);
        const p = new PlanContext(file, base, spec, new StateIndex(await readInstanceState(scope)), quietDeps, opts.env ?? process.env);
        await planInstanceSettings(p);
        planOrgs(p);
        await planUsers(p);
        await planProjects(p);
        planProjectGrants(p);
        planUserGrants(p);
        planMembers(p);
        p.warnings.forEach((w) => warnings.add(w));
        const ctx = { deps: quietDeps, scope, actor: cliPrincipal };
        const changes = p.plan();
        for (const change of changes) {
          print(`${change.sign} ${change.text}`);
          await run(file, change, ctx);
        }
        if (changes.length) touched.add(instanceId);
        count += changes.length;
      }
      if (opts.dryRun) throw new DryRunRollback();
    });
  } catch (err) {
    if (!(err instanceof DryRunRollback)) throw err;
  }
  for (const w of warnings) print(`! ${w}`);
  if (opts.dryRun) {
    print(count ? `dry run: ${count} change${count === 1 ? '' : 's'} planned, nothing written` : 'no changes');
    return { changes: count, dryRun: true };
  }
  for (const id of touched) await deps.changes.publish(id);
  for (const a of announcements) print(`! ${a}`);
  print(count ? `applied ${count} change${count === 1 ? '' : 's'}` : 'no changes');
  return { changes: count, dryRun: false };
}

async function run(file: SpecFile, change: Change, ctx: Parameters<Change['run']>[0]): Promise<void> {
  try {
    await change.run(ctx);
  } catch (err) {
    const e = err as Error;
    const reason = err instanceof DomainError ? `${e.message} (${err.reason ?? err.code})` : e.message;
    throw file.error(change.path, reason);
  }
}

/** An explicit id wins; otherwise the domains, which must not point at two instances. */
async function matchInstance(knex: Knex, file: SpecFile, base: SpecPath, spec: InstanceSpec): Promise<string | undefined> {
  const byDomain = await findInstanceByDomains(knex, spec.domains);
  if (spec.id) {
    if (byDomain.some((id) => id !== spec.id)) throw file.error([...base, 'domains'], `a domain here belongs to another instance than ${spec.id}`);
    return (await instanceExists(knex, spec.id)) ? spec.id : undefined;
  }
  if (byDomain.length > 1) throw file.error([...base, 'domains'], `these domains belong to ${byDomain.length} different instances`);
  return byDomain[0];
}

/**
 * A new instance comes with its default org and first admin (createInstance). The admin is the
 * file's first instance IAM_OWNER who is a human user of the default org, so the rest of the
 * plan finds them in place; without one, an `admin` with a generated password is made.
 */
async function createFromSpec(
  trx: Knex.Transaction,
  deps: ServiceDeps,
  file: SpecFile,
  base: SpecPath,
  spec: InstanceSpec,
  env: NodeJS.ProcessEnv,
): Promise<string> {
  const orgName = spec.defaultOrg ?? spec.orgs?.find((o) => !o.absent)?.name ?? spec.name ?? spec.domains[0];
  const org = spec.orgs?.find((o) => o.name === orgName);
  const owner = (spec.members ?? [])
    .filter((m) => !m.absent && m.roles.includes('IAM_OWNER'))
    .map((m) => org?.users?.find((u) => u.type !== 'machine' && m.user.toLowerCase() === `${u.username}@${orgName}`.toLowerCase()))
    .find((u) => u !== undefined);
  const admin =
    owner && owner.type !== 'machine'
      ? { username: owner.username, email: owner.email, password: owner.passwordFromEnv ? env[owner.passwordFromEnv] || undefined : undefined }
      : { username: 'admin', email: `admin@${spec.domains[0]}` };
  try {
    const created = await createInstance(trx, deps, { id: spec.id, name: spec.name ?? spec.domains[0], domains: spec.domains, orgName, admin }, cliPrincipal);
    if (created.generatedPassword) announcements.push(`password of the new instance's admin ${admin.username}, shown once: ${created.generatedPassword}`);
    return created.instanceId;
  } catch (err) {
    throw file.error(base, `cannot create the instance: ${(err as Error).message}`);
  }
}
