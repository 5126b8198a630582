import type { Bare, Settings, Target, Tessera } from '../harness.js';
import type { BenchInstance } from '../instance.js';
import type { ScenarioResult } from '../report.js';

/** What every scenario is given: the settings, both servers, and the small instance, seeded and signed in to. */
export interface BenchContext {
  settings: Settings;
  tessera: Tessera;
  bare: Bare;
  small: BenchInstance;
}

export type Scenario = (ctx: BenchContext) => Promise<ScenarioResult>;

export const tesseraTarget = (ctx: BenchContext): Target => ({ pid: ctx.tessera.pid, countQueries: true });
export const bareTarget = (ctx: BenchContext): Target => ({ pid: ctx.bare.pid, countQueries: false });
