/**
 * Reading V8 CPU profiles (the .cpuprofile files `node --cpu-prof` writes). Pure, unit-tested in
 * test/unit/bench-report.test.ts; bench/profile-summary.ts prints it.
 */

export interface CpuProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}

export interface CpuProfile {
  nodes: CpuProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface Hotspot {
  name: string;
  us: number;
}

export interface ProfileSummary {
  totalUs: number;
  idleUs: number;
  /** self time by function */
  self: Hotspot[];
  /** each sample charged to its innermost frame in src/ (samples outside any, by their own function) */
  tessera: Hotspot[];
}

const IDLE = new Set(['(idle)', '(program)', '(garbage collector)']);

function frameName(node: CpuProfileNode): string {
  const { functionName, url, lineNumber } = node.callFrame;
  const at =
    url.indexOf('/src/') >= 0
      ? url.slice(url.indexOf('/src/') + 1)
      : url.indexOf('/node_modules/') >= 0
        ? url.slice(url.lastIndexOf('/node_modules/') + 14)
        : url.replace(/^.*\//, '');
  return `${functionName || '(anonymous)'}${at ? ` ${at}:${lineNumber + 1}` : ''}`;
}

// src/*.ts run through tsx, or the compiled build's src/*.js (bench/results/dist, as the bench runs Tessera)
const isTessera = (node: CpuProfileNode) => /\/src\/[^?]*\.[jt]s/.test(node.callFrame.url) && !node.callFrame.url.includes('/node_modules/');

function ranked(totals: Map<string, number>, top: number): Hotspot[] {
  return [...totals]
    .map(([name, us]) => ({ name, us }))
    .sort((a, b) => b.us - a.us)
    .slice(0, top);
}

export function summarizeProfile(profile: CpuProfile, top = 25): ProfileSummary {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  // The innermost src/ frame of each node, computed once per node.
  const charged = new Map<number, string>();
  const chargeOf = (id: number): string => {
    const known = charged.get(id);
    if (known !== undefined) return known;
    let cur: number | undefined = id;
    let name = '';
    while (cur !== undefined) {
      const node = byId.get(cur)!;
      if (isTessera(node)) {
        name = frameName(node);
        break;
      }
      cur = parent.get(cur);
    }
    const result = name || `(outside src) ${frameName(byId.get(id)!)}`;
    charged.set(id, result);
    return result;
  };
  const self = new Map<string, number>();
  const tessera = new Map<string, number>();
  let totalUs = 0;
  let idleUs = 0;
  profile.samples.forEach((id, i) => {
    const us = profile.timeDeltas[i] ?? 0;
    const node = byId.get(id);
    if (!node) return;
    totalUs += us;
    if (IDLE.has(node.callFrame.functionName)) {
      if (node.callFrame.functionName === '(idle)') idleUs += us;
      else self.set(node.callFrame.functionName, (self.get(node.callFrame.functionName) ?? 0) + us);
      return;
    }
    const name = frameName(node);
    self.set(name, (self.get(name) ?? 0) + us);
    const t = chargeOf(id);
    tessera.set(t, (tessera.get(t) ?? 0) + us);
  });
  return { totalUs, idleUs, self: ranked(self, top), tessera: ranked(tessera, top) };
}
