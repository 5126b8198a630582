// ESLint, flat config: typescript-eslint's recommended rules, import-x for imports (module-level
// cycles included), and eslint-config-prettier last, so that layout is Prettier's business alone.
// The folder-level cycle check of src/ is scripts/folder-cycles.ts; `npm run lint` runs both.
import js from '@eslint/js';
import { defineConfig } from 'eslint/config';
import prettier from 'eslint-config-prettier';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';
import { importX } from 'eslint-plugin-import-x';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default defineConfig(
  { ignores: ['dist/', 'data/', 'coverage/', 'test-artifacts/', 'bench/results/'] },
  { linterOptions: { reportUnusedDisableDirectives: 'error' } },
  js.configs.recommended,
  tseslint.configs.recommended,
  importX.flatConfigs.recommended,
  importX.flatConfigs.typescript,
  {
    languageOptions: { ecmaVersion: 'latest', sourceType: 'module', globals: globals.node },
    settings: { 'import-x/resolver-next': [createTypeScriptImportResolver({ project: 'tsconfig.json' })] },
    rules: {
      'import-x/no-cycle': ['error', { ignoreExternal: true }],
      // TypeScript already checks what these check (and import-x/namespace alone took half the
      // run). The default imports they warn about (`import argon2 from 'argon2'`, `Router` from
      // @koa/router) are how those CommonJS packages are meant to be used under esModuleInterop.
      'import-x/namespace': 'off',
      'import-x/default': 'off',
      'import-x/no-unresolved': 'off',
      'import-x/no-named-as-default': 'off',
      'import-x/no-named-as-default-member': 'off',
      // `_name` marks what is left out on purpose: `const { password: _p, ...safe } = values`.
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_', ignoreRestSiblings: true },
      ],
    },
  },
  {
    // oidc-provider 9 ships no types (src/oidc/oidc-provider.d.ts types it as `any`), so its
    // objects (ctx.oidc, clients, tokens, grants) are `any` in every hook of src/oidc. Its internals
    // are gathered in src/oidc/internals.ts; narrowing this block to that module needs the hooks
    // typed first (@types/oidc-provider follows v9).
    files: ['src/oidc/**/*.ts', 'src/api/oidc-tokens.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  {
    // Today's other `any`s, in files issue 10 is rewriting right now (api/, login/, db/scope,
    // the project-grant repository). To be typed as they are rewritten; this list only shrinks.
    files: ['src/api/openapi.ts', 'src/api/route.ts', 'src/api/index.ts', 'src/db/scope.ts', 'src/domain/project-grant/repository.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  {
    // Routes and pages parse and validate; what they read and write goes through the services and
    // query functions of src/domain, which authorize the caller. So they never reach a repository.
    files: ['src/api/**/*.ts', 'src/login/**/*.ts', 'src/console/**/*.ts', 'src/account/**/*.ts', 'src/webapp/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/repository', '**/repository.js', '**/*-repository', '**/*-repository.js'],
              message: 'Routes and pages read through query functions and write through services (src/domain/<concept>/), which authorize.',
            },
          ],
        },
      ],
    },
  },
  {
    // The pages' own scripts run in the browser, as classic scripts.
    files: ['views/assets/**/*.js', 'views/**/assets/*.js'],
    languageOptions: { sourceType: 'script', globals: globals.browser },
  },
  {
    // Tests read JSON bodies of every shape the APIs answer.
    files: ['test/**/*.ts', 'bench/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  {
    // Two imports of one module; issue 10 (item 7) rewrites this test to find the repository
    // exports itself. Remove this block then.
    files: ['test/integration/isolation.test.ts'],
    rules: { 'import-x/no-duplicates': 'off' },
  },
  prettier,
);
