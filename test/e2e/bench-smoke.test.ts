import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

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
    'chaos.json',
    'dispatch-latency.json',
    'failure-recovery.json',
    'overhead-16x0.25s.json',
    'scale.json',
  ]);
  for (const title of ['Bookkeeping overhead', 'Dispatch latency', 'Failure recovery', 'Broadcast', 'Scale', 'Chaos']) {
    assert.match(stdout, new RegExp(`## ${title}`));
  }
  assert.match(stdout, /^Sweep +\d/m, 'Sweep has a measured row');
  // CPU per trial, read from /proc: the server's and the worker's own time at least, whatever the machine.
  const overhead = JSON.parse(readFileSync(join(results, 'overhead-16x0.25s.json'), 'utf8')) as {
    results: { tool: string; cpu?: { ownMs: number; childrenMs: number } }[];
  };
  const sweep = overhead.results.find((result) => result.tool === 'Sweep');
  assert.ok(sweep?.cpu && sweep.cpu.ownMs > 0 && sweep.cpu.childrenMs > 0, JSON.stringify(sweep?.cpu));
});

test('bad bench flags stop it before anything starts, with one line and exit 2', () => {
  for (const [args, line] of [
    [['--scale-trials', 'abc'], 'bench: --scale-trials: expected a whole number of trials, at least 1; got "abc"'],
    [['--only', 'nope'], 'bench: --only: unknown workload nope; expected overhead, recovery, broadcast, scale, chaos'],
    [['--chaos-workers', '0'], 'bench: --chaos-workers: expected a whole number, at least 1; got "0"'],
  ] as const) {
    const run = spawnSync(process.execPath, ['--import', 'tsx', 'bench/run.ts', '--no-build', ...args], {
      encoding: 'utf8',
    });
    assert.equal(run.status, 2);
    assert.equal(run.stderr, `${line}\n`);
    assert.equal(run.stdout, '');
  }
});
