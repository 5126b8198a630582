/**
 * The folder-level import-cycle check of `npm run lint`: no folder under src/ may import one that
 * imports it back, directly or through others. Each folder directly under src/ is one node, and
 * so is each file directly in src/ (main.ts, app.ts). Every import counts, type-only and
 * dynamic ones included: a type-only import still means one folder has to know the other.
 *
 * dependency-cruiser reads the imports (it resolves `./x.js` to `./x.ts` through tsconfig.json);
 * this file only folds them into folders and looks for cycles, which dependency-cruiser's own
 * folder rules do per directory level rather than per top-level folder.
 *
 * Run: tsx scripts/folder-cycles.ts   (exit status 1 on a cycle not in KNOWN_CYCLE_EDGES)
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { cruise } from 'dependency-cruiser';

/**
 * Folder edges that close a cycle today, allowed while the restructure of issue 10 is under way.
 * To be emptied by issue 10: remove an entry when its cycle is broken (the check fails on an
 * entry that no longer closes a cycle, so a broken cycle cannot quietly come back). A new cycle
 * brings a folder edge that is not listed here, and fails the check. Add an entry only for a step
 * of the restructure that moves code inside this knot, and name the edge that still closes it.
 */
export const KNOWN_CYCLE_EDGES: readonly string[] = [];

/** One import of one module, as dependency-cruiser reports it (the fields used here). */
export interface ModuleImports {
  source: string;
  dependencies: { resolved: string; dependencyTypes?: string[] }[];
}

/** The node a file belongs to: its top folder under src/, or the file itself when it sits in src/. */
export function nodeOf(file: string, srcDir = 'src'): string | undefined {
  const rel = path.posix.relative(srcDir, file);
  if (rel.startsWith('..') || path.posix.isAbsolute(rel)) return undefined;
  const [first, ...rest] = rel.split('/');
  return rest.length === 0 ? first : `${first}/`;
}

/** Folder graph: node → node → one example import (for the message). */
export type FolderGraph = Map<string, Map<string, string>>;

export function folderGraph(modules: readonly ModuleImports[], srcDir = 'src'): FolderGraph {
  const graph: FolderGraph = new Map();
  for (const mod of modules) {
    const from = nodeOf(mod.source, srcDir);
    if (!from) continue;
    if (!graph.has(from)) graph.set(from, new Map());
    for (const dep of mod.dependencies) {
      const to = nodeOf(dep.resolved, srcDir);
      if (!to || to === from) continue;
      const out = graph.get(from)!;
      if (!out.has(to)) out.set(to, `${mod.source} imports ${dep.resolved}`);
    }
  }
  return graph;
}

/** Strongly connected components with more than one node (Tarjan), each sorted. */
export function cycles(graph: FolderGraph): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  let next = 0;
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next);
    next += 1;
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v)?.keys() ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, index.get(w)!));
      }
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1) found.push(component.sort());
    }
  };
  for (const v of [...graph.keys()].sort()) if (!index.has(v)) visit(v);
  return found.sort((a, b) => a[0].localeCompare(b[0]));
}

/** A shortest path from `from` to `to` inside one component, for the message. */
function pathWithin(graph: FolderGraph, component: Set<string>, from: string, to: string): string[] {
  const previous = new Map<string, string>([[from, from]]);
  const queue = [from];
  while (queue.length > 0) {
    const v = queue.shift()!;
    if (v === to) break;
    for (const w of graph.get(v)?.keys() ?? []) {
      if (component.has(w) && !previous.has(w)) {
        previous.set(w, v);
        queue.push(w);
      }
    }
  }
  const route = [to];
  while (route[0] !== from) route.unshift(previous.get(route[0])!);
  return route;
}

export interface CycleEdge {
  edge: string;
  /** An import that makes the edge. */
  example: string;
  /** The way back: the folders from the edge's target to its source. */
  back: string[];
}

export interface CycleReport {
  cycles: string[][];
  /** Edges closing a cycle that the allowlist does not name: each is a new cycle. */
  unexpected: CycleEdge[];
  /** Allowlist entries that close no cycle any more: remove them. */
  stale: string[];
}

export function checkCycles(graph: FolderGraph, allowed: readonly string[]): CycleReport {
  const found = cycles(graph);
  const cycleEdges: CycleEdge[] = [];
  for (const component of found) {
    const members = new Set(component);
    for (const from of component) {
      for (const [to, example] of graph.get(from) ?? []) {
        if (!members.has(to)) continue;
        cycleEdges.push({ edge: `${from} -> ${to}`, example, back: pathWithin(graph, members, to, from) });
      }
    }
  }
  const present = new Set(cycleEdges.map((e) => e.edge));
  return {
    cycles: found,
    unexpected: cycleEdges.filter((e) => !allowed.includes(e.edge)),
    stale: allowed.filter((edge) => !present.has(edge)),
  };
}

/** The imports of every module under srcDir, type-only and dynamic ones included. */
export async function readModules(srcDir: string, baseDir = process.cwd()): Promise<ModuleImports[]> {
  const result = await cruise([srcDir], {
    baseDir,
    tsPreCompilationDeps: true,
    tsConfig: { fileName: path.join(baseDir, 'tsconfig.json') },
    doNotFollow: { path: 'node_modules' },
  });
  const output = result.output;
  if (typeof output === 'string') throw new Error('dependency-cruiser returned a report, not the module graph');
  return output.modules;
}

async function main(): Promise<void> {
  const graph = folderGraph(await readModules('src'));
  const report = checkCycles(graph, KNOWN_CYCLE_EDGES);
  for (const e of report.unexpected) {
    console.error(`folder cycle: ${e.edge} (${e.example}), and back: ${e.back.join(' -> ')}`);
  }
  for (const edge of report.stale) {
    console.error(`folder cycle allowlist: "${edge}" closes no cycle any more; remove it from KNOWN_CYCLE_EDGES in scripts/folder-cycles.ts`);
  }
  if (report.unexpected.length > 0 || report.stale.length > 0) {
    process.exitCode = 1;
    return;
  }
  const known = report.cycles.map((c) => c.join(' '));
  console.log(
    known.length === 0
      ? 'folder cycles: none in src/'
      : `folder cycles: no new one in src/; known, to be broken by issue 10: ${known.map((k) => `{ ${k} }`).join(', ')}`,
  );
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await main();
