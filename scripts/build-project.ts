import { spawnSync } from 'node:child_process';

/** `npm run build` without npm: compile to dist/ and bundle the workflows; exits the process on failure. */
export function buildProject(): void {
  for (const args of [
    ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json'],
    ['--import', 'tsx', 'scripts/bundle-workflows.ts'],
  ]) {
    const result = spawnSync(process.execPath, args, { stdio: 'inherit' });
    if (result.status !== 0) process.exit(result.status ?? 1);
  }
}
