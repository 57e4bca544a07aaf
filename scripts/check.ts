// `npm run check` (what CI runs): typecheck, lint and format check, then the whole test suite.
import { spawnSync } from 'node:child_process';

const steps: [string, string[]][] = [
  ['typecheck', ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.json']],
  // The report page runs in a browser: its own program, with the DOM's types and no Node's.
  ['typecheck the report page', ['node_modules/typescript/bin/tsc', '-p', 'src/report/page']],
  ['lint', ['node_modules/eslint/bin/eslint.js', '.']],
  ['format', ['node_modules/prettier/bin/prettier.cjs', '--check', '--log-level', 'warn', '.']],
  ['tests', ['--import', 'tsx', 'scripts/run-tests.ts', ...process.argv.slice(2)]],
];
for (const [name, args] of steps) {
  process.stderr.write(`== ${name}\n`);
  const result = spawnSync(process.execPath, args, { stdio: 'inherit' });
  if (result.status !== 0) {
    process.stderr.write(`== ${name} failed\n`);
    process.exit(result.status ?? 1);
  }
}
