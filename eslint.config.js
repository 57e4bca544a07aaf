import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import importX from 'eslint-plugin-import-x';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';

// Workflow code runs in Temporal's deterministic sandbox and is replayed: anything doing I/O or
// reading the clock must fail the lint rather than a replay.
const workflowBannedImports = {
  patterns: [
    { group: ['node:*'], message: 'Node built-ins are not deterministic: keep them out of workflow code.' },
    {
      group: ['@temporalio/activity', '@temporalio/client', '@temporalio/worker', 'js-yaml', 'ssh2'],
      message: 'Workflow code may only import @temporalio/workflow and pure modules.',
    },
  ],
  paths: ['fs', 'path', 'os', 'child_process', 'net', 'http', 'https', 'crypto', 'process', 'timers'].map((name) => ({
    name,
    message: 'Node built-ins are not deterministic: keep them out of workflow code.',
  })),
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
    files: ['src/workflows/**/*.ts', 'src/spec/**/*.ts'],
    ignores: ['src/spec/load-*.ts'],
    rules: { 'no-restricted-imports': ['error', workflowBannedImports] },
  },
);
