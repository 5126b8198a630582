#!/usr/bin/env node
// The `tessera` command. From a checkout it runs the TypeScript CLI through tsx (no build
// needed); where tsx is not installed (a production install, the Docker image) it runs the
// compiled build from dist/ (`npm run build`).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

let tsx;
try {
  tsx = await import('tsx/esm/api');
} catch {
  tsx = undefined;
}
if (tsx) {
  tsx.register();
  await import('../src/cli/main.ts');
} else {
  const compiled = new URL('../dist/src/cli/main.js', import.meta.url);
  if (!existsSync(fileURLToPath(compiled))) {
    process.stderr.write('tessera: neither tsx nor a build in dist/ was found; run `npm run build` first\n');
    process.exit(1);
  }
  await import(compiled.href);
}
