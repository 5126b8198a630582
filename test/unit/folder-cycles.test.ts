import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { checkCycles, folderGraph, readModules, type ModuleImports } from '../../scripts/folder-cycles.js';

/** Writes a small TypeScript project (files relative to its root) and returns its folder-cycle report. */
async function reportFor(files: Record<string, string>, allowed: string[] = []) {
  const root = await fs.mkdtemp(path.join(os.tmpdir(), 'folder-cycles-'));
  try {
    const all = { 'tsconfig.json': JSON.stringify({ compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext', strict: true } }), ...files };
    for (const [file, text] of Object.entries(all)) {
      await fs.mkdir(path.dirname(path.join(root, file)), { recursive: true });
      await fs.writeFile(path.join(root, file), text);
    }
    return checkCycles(folderGraph(await readModules('src', root)), allowed);
  } finally {
    await fs.rm(root, { recursive: true, force: true });
  }
}

const edges = (report: { unexpected: { edge: string }[] }) => report.unexpected.map((e) => e.edge).sort();

describe('the folder-cycle check of src/, on files on disk', () => {
  const oneWay = {
    'src/a/one.ts': 'export const one = 1;\n',
    'src/b/y.ts': "import { one } from '../a/one.js';\nexport interface Y { n: number }\nexport const y = one;\n",
  };

  test('folders that import one way only pass', async () => {
    expect(await reportFor({ ...oneWay, 'src/a/x.ts': 'export interface X { n: number }\n' })).toEqual({ cycles: [], unexpected: [], stale: [] });
  });

  test('a type-only import back is a cycle', async () => {
    const report = await reportFor({ ...oneWay, 'src/a/x.ts': "import type { Y } from '../b/y.js';\nexport interface X { y: Y }\n" });
    expect(report.cycles).toEqual([['a/', 'b/']]);
    expect(edges(report)).toEqual(['a/ -> b/', 'b/ -> a/']);
    expect(report.unexpected.find((e) => e.edge === 'a/ -> b/')).toMatchObject({ example: 'src/a/x.ts imports src/b/y.ts', back: ['b/', 'a/'] });
  });

  test('a dynamic import back is a cycle', async () => {
    const report = await reportFor({ ...oneWay, 'src/a/x.ts': "export async function later() { return (await import('../b/y.js')).y; }\n" });
    expect(edges(report)).toEqual(['a/ -> b/', 'b/ -> a/']);
  });

  test('a file directly in src/ is a node of its own, and subfolders fold into their top folder', async () => {
    const report = await reportFor({
      'src/main.ts': "import { run } from './app/deep/run.js';\nrun();\n",
      'src/app/deep/run.ts': "import type { Options } from '../options.js';\nexport function run(_o?: Options) {}\n",
      'src/app/options.ts': "import type {} from '../main.js';\nexport interface Options { n?: number }\n",
    });
    expect(report.cycles).toEqual([['app/', 'main.ts']]);
    expect(edges(report)).toEqual(['app/ -> main.ts', 'main.ts -> app/']);
  });
});

describe('the allowlist of known cycles', () => {
  const mod = (source: string, ...deps: string[]): ModuleImports => ({ source, dependencies: deps.map((resolved) => ({ resolved })) });
  // domain ⇄ oidc, known; api → domain, one way.
  const today = [
    mod('src/domain/instance/service.ts', 'src/oidc/keys.ts'),
    mod('src/oidc/keys.ts', 'src/domain/deps.ts'),
    mod('src/api/admin.ts', 'src/domain/deps.ts'),
  ];
  const known = ['domain/ -> oidc/', 'oidc/ -> domain/'];

  test('a known cycle passes', () => {
    expect(checkCycles(folderGraph(today), known)).toMatchObject({ unexpected: [], stale: [] });
  });

  test('a new cycle fails, even through folders that are already in a known one', () => {
    const report = checkCycles(folderGraph([...today, mod('src/oidc/pool.ts', 'src/api/admin.ts')]), known);
    expect(edges(report)).toEqual(['api/ -> domain/', 'oidc/ -> api/']);
    expect(report.unexpected.find((e) => e.edge === 'oidc/ -> api/')?.back).toEqual(['api/', 'domain/', 'oidc/']);
  });

  test('an entry whose cycle is broken is reported, so it cannot come back unnoticed', () => {
    const report = checkCycles(folderGraph([mod('src/domain/instance/service.ts', 'src/oidc/keys.ts'), mod('src/oidc/keys.ts')]), known);
    expect(report).toEqual({ cycles: [], unexpected: [], stale: known });
  });
});
