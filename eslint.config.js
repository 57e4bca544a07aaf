import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import importX from 'eslint-plugin-import-x';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';
import { builtinModules } from 'node:module';

// Workflow code runs in Temporal's deterministic sandbox and is replayed: anything doing I/O or
// reading the clock must fail the lint rather than a replay. `import type` is erased before the bundle, so
// types from a package or module that is banned as a value stay allowed; Node's are banned outright.
// Exported for the test that proves the ban holds.
const builtinMessage = 'Node built-ins are not deterministic: keep them out of workflow code.';
export const workflowRestrictedImports = {
  // Bare names here (fs, fs/promises, ...); every `node:` name, listed or prefix-only (node:test), below.
  paths: builtinModules.filter((name) => !name.startsWith('node:')).map((name) => ({ name, message: builtinMessage })),
  patterns: [
    {
      regex: '^node:',
      message: builtinMessage,
    },
    {
      regex: '^(@temporalio/(activity|client|worker|testing)|js-yaml|ssh2|commander)(/|$)',
      allowTypeImports: true,
      message: 'Workflow code may only import @temporalio/workflow, @temporalio/common and pure modules.',
    },
    {
      // An allowlist, so that a new folder is banned until someone decides it is pure. Relative to a file in
      // src/workflows/ or src/sweep-spec/: leaving the folder is allowed only towards the pure modules, and the
      // sweep-spec loaders (js-yaml, files) are banned from both.
      regex:
        '^\\.\\./(?!workflows/|sweep-spec/(?!load-)|temporal/names\\.js$|temporal/search-attributes\\.js$)|^\\./load-',
      allowTypeImports: true,
      message:
        'Workflow code may import only workflow-safe project modules: src/workflows, the pure src/sweep-spec ' +
        'modules, src/temporal/names.ts and search-attributes.ts (import type from anywhere is fine).',
    },
  ],
};

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'bench/.peers/', 'bench/results/'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        projectService: { allowDefaultProject: ['*.js', 'scripts/*.mjs', 'bin/*.js', 'test/fixtures/*.mjs'] },
      },
    },
    plugins: { 'import-x': importX },
    // Resolves `./x.js` specifiers to their .ts sources, without which import-x/no-cycle sees no edges.
    settings: {
      'import-x/resolver-next': [createTypeScriptImportResolver()],
      'import-x/extensions': ['.ts', '.js', '.mjs'],
      'import-x/parsers': { '@typescript-eslint/parser': ['.ts'] },
    },
    rules: {
      // node:test's test() returns a promise that the runner itself awaits.
      '@typescript-eslint/no-floating-promises': [
        'error',
        { allowForKnownSafeCalls: [{ from: 'package', package: 'node:test', name: ['test', 'describe', 'it'] }] },
      ],
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'import-x/no-cycle': 'error',
    },
  },
  {
    // Plain JS entry points run before anything is built: no type information, Node globals.
    files: ['**/*.js', '**/*.mjs'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: { globals: { process: 'readonly', console: 'readonly' } },
  },
  {
    // The sweep-spec loaders read files and YAML; every other module there is pure and workflows use it.
    files: ['src/workflows/**/*.ts', 'src/sweep-spec/**/*.ts'],
    ignores: ['src/sweep-spec/load-*.ts'],
    rules: { 'no-restricted-imports': ['error', workflowRestrictedImports] },
  },
);
