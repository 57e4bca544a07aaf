import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';

import { test } from 'node:test';
import { tempDir } from '../helpers/temporal.js';

test('npm run bench --smoke runs every workload end to end and writes its result files', async () => {
  const results = tempDir('bench');
  const bench = spawn(
    process.execPath,
    ['--import', 'tsx', 'bench/run.ts', '--smoke', '--no-build', '--results', results],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stdout = '';
  let stderr = '';
  bench.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  bench.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const code = await new Promise<number | null>((resolve) => bench.once('close', resolve));
  assert.equal(code, 0, `bench failed:\n${stderr.slice(-3000)}`);
  assert.deepEqual(readdirSync(results).sort(), [
    'broadcast-latency.json',
    'dispatch-latency.json',
    'failure-recovery.json',
    'overhead-16x0.25s.json',
    'scale.json',
  ]);
  for (const title of ['Bookkeeping overhead', 'Dispatch latency', 'Failure recovery', 'Broadcast', 'Scale']) {
    assert.match(stdout, new RegExp(`## ${title}`));
  }
  assert.match(stdout, /^Sweep +\d/m, 'Sweep has a measured row');
});
