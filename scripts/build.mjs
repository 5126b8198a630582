// Compiles src/ and migrations/ to dist/ (ES modules, with source maps) through SWC, the same
// compiler the test suite runs the code with. Type checking is tsc's job (`npm run typecheck`,
// which `npm run build` runs first). Usage: node scripts/build.mjs [outDir]
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { transformFile } from '@swc/core';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const outDir = path.resolve(root, process.argv[2] ?? 'dist');

function sources(dir) {
  return readdirSync(path.join(root, dir), { withFileTypes: true }).flatMap((e) => {
    const rel = path.join(dir, e.name);
    if (e.isDirectory()) return sources(rel);
    return e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [rel] : [];
  });
}

rmSync(outDir, { recursive: true, force: true });
const files = [...sources('src'), ...sources('migrations')];
await Promise.all(
  files.map(async (rel) => {
    const target = path.join(outDir, rel.replace(/\.ts$/, '.js'));
    const out = await transformFile(path.join(root, rel), {
      jsc: { parser: { syntax: 'typescript' }, target: 'es2023' },
      module: { type: 'es6' },
      sourceMaps: true,
      sourceFileName: path.relative(path.dirname(target), path.join(root, rel)),
    });
    mkdirSync(path.dirname(target), { recursive: true });
    writeFileSync(target, `${out.code}\n//# sourceMappingURL=${path.basename(target)}.map\n`);
    if (out.map) writeFileSync(`${target}.map`, out.map);
  }),
);
process.stdout.write(`compiled ${files.length} files to ${path.relative(root, outDir) || outDir}\n`);
