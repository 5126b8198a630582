import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Where Tessera's files live, found from one root: the directory holding package.json, found by
 * walking up from this module. The same code runs from src/ (tsx, jest) and from a compiled
 * dist/src/ (npm run build), so nothing here counts `..` segments.
 */
function findProjectRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, 'package.json'))) {
    const up = path.dirname(dir);
    if (up === dir) throw new Error(`no package.json above ${fileURLToPath(import.meta.url)}`);
    dir = up;
  }
  return dir;
}

const root = findProjectRoot();

export const paths = {
  root,
  /** ejs templates: the page layout, login pages, mail layouts (views/<area>/…) */
  views: path.join(root, 'views'),
  /** message catalogues, one folder per language, one file per area (locales/<lang>/<area>.json) */
  locales: path.join(root, 'locales'),
  /** config/default.yaml */
  config: path.join(root, 'config'),
} as const;
