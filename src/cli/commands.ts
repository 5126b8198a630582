import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import type { Config } from '../config/schema.js';
import { DataDirInUseError } from '../db/data-dir-lock.js';
import { createRuntime, type Runtime } from '../runtime/index.js';
import { applyFile } from './apply.js';
import { exportInstances } from './export.js';
import { SpecError, SpecFile } from './load.js';
import { findInstanceByDomains, instanceExists, listAllInstanceIds } from './state.js';

/** A usage mistake: printed as one line, exit code 2. */
export class UsageError extends Error {}

async function withRuntime<T>(config: Config, fn: (rt: Runtime) => Promise<T>): Promise<T> {
  // Logs go to stderr so stdout carries only the plan (or the exported file).
  const log = pino({ level: config.log.level === 'info' ? 'warn' : config.log.level }, pino.destination(2));
  const rt = await createRuntime(config, { log });
  try {
    return await fn(rt);
  } finally {
    await rt.close();
  }
}

/** `tessera apply FILE [--dry-run]` */
export async function applyCommand(config: Config, args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, options: { 'dry-run': { type: 'boolean' } }, allowPositionals: true });
  if (positionals.length !== 1) throw new UsageError('usage: tessera apply FILE [--dry-run]');
  // The file is checked before the database is opened: a bad file fails fast and touches nothing.
  const file = SpecFile.read(positionals[0]);
  try {
    await withRuntime(config, (rt) => applyFile(rt.db.knex, rt.deps, file, { dryRun: values['dry-run'] === true }));
  } catch (err) {
    if (!(err instanceof SpecError)) throw err;
    process.stderr.write(`${err.message}\nnothing was changed: the whole file applies in one transaction\n`);
    return 1;
  }
  return 0;
}

/** `tessera export [--instance ID|DOMAIN] [--out FILE]` */
export async function exportCommand(config: Config, args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { instance: { type: 'string' }, out: { type: 'string' } } });
  const text = await withRuntime(config, async (rt) => {
    let ids: string[];
    if (values.instance) {
      ids = (await instanceExists(rt.db.knex, values.instance)) ? [values.instance] : await findInstanceByDomains(rt.db.knex, [values.instance]);
      if (!ids.length) throw new UsageError(`no instance has the id or domain ${values.instance}`);
    } else {
      ids = await listAllInstanceIds(rt.db.knex);
    }
    return exportInstances(rt.db.knex, ids);
  });
  if (values.out) writeFileSync(values.out, text);
  else process.stdout.write(text);
  return 0;
}

/** A wrong command line: unknown option or missing argument (exit code 2). */
export const isUsageError = (err: unknown) => err instanceof UsageError || String((err as { code?: string })?.code ?? '').startsWith('ERR_PARSE_ARGS');

/** Errors an operator caused, printed as their one-line message rather than a stack. */
export const isOperatorError = (err: unknown) => err instanceof SpecError || err instanceof DataDirInUseError || isUsageError(err);
