import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type { TrialSummary } from '../../src/workflows/types.js';
import { TestCluster } from '../helpers/cluster.js';
import { sharedServerConfig } from '../helpers/temporal.js';

const owner = new TestCluster(sharedServerConfig().address);
after(() => owner.stop());

test('sweep retry --failed reruns only the failed trials, as a linked sweep, resuming in their directories', async () => {
  await owner.startWorker('r1', 2);
  const flag = join(owner.dir, 'broken');
  writeFileSync(flag, 'the bug is still there');
  const sweepId = await owner.start(
    `  x: [1, 2, 3]\n  steps: 3\n  step_ms: 50\n  fail_on: 2\n  fail_while: ${JSON.stringify(flag)}`,
  );
  assert.equal((await owner.sweep(['watch', sweepId])).code, 1);

  const early = await owner.sweep(['retry', sweepId]);
  assert.equal(early.code, 2);
  assert.equal(early.stderr, 'retry: say which trials: --failed and/or --cancelled\n');

  rmSync(flag);
  const retried = await owner.sweep(['retry', sweepId, '--failed', '--wait']);
  assert.equal(retried.code, 0, retried.stderr);
  const retryId = retried.stdout.split('\n')[0] ?? '';
  assert.match(retried.stderr, new RegExp(`retrying 1 trial\\(s\\) of ${sweepId} \\(1\\)`));

  const rows = (await owner.sweep(['results', retryId, '--format', 'json'])).stdout
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as TrialSummary);
  assert.deepEqual(
    rows.map((row) => [row.index, row.name]),
    [[1, 't001_x=2']],
  );
  const starts = owner.records().filter((record) => record.event === 'start');
  assert.deepEqual(
    starts.filter((s) => s.sweep === retryId).map((s) => s.trial),
    [1],
  );
  assert.equal(starts.find((s) => s.sweep === retryId)?.from, 3, 'the retry found the checkpoint of the failed run');
  assert.equal(starts.filter((s) => s.trial !== 1).length, 2, 'succeeded trials never ran again');
});
