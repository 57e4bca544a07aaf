#!/usr/bin/env node
// The installed `sweep` command: runs the compiled CLI (npm install / npm ci build it through `prepare`).
import('../dist/cli/index.js').catch((error) => {
  if (error?.code !== 'ERR_MODULE_NOT_FOUND') throw error;
  process.stderr.write('sweep: the CLI is not built yet; run `npm run build` in the Sweep checkout\n');
  process.exitCode = 2;
});
