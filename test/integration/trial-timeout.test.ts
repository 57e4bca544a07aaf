// `timeout:` is per attempt of the command: it counts from the process start, never the wait for a slot.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { TestCluster } from '../helpers/cluster.js';
import { sharedServerConfig } from '../helpers/temporal.js';

const cleanups: (() => Promise<unknown>)[] = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

test('a trial held behind a busy slot does not time out before its process exists', async () => {
  const owner = new TestCluster(sharedServerConfig().address);
  cleanups.push(() => owner.stop());
  await owner.startWorker('t1');
  // Each trial runs 2 s of a 3 s timeout; the second waits about 2 s for the slot first.
  const sweepId = await owner.start('  x: [1, 2]\n  steps: 10\n  step_ms: 200', {
    settings: 'timeout: 3s\nretries: 0',
  });
  const watched = await owner.sweep(['watch', sweepId]);
  assert.equal(watched.code, 0, watched.stderr);
  const records = owner.records(sweepId);
  assert.equal(records.filter((r) => r.event === 'start').length, 2);
  assert.equal(records.filter((r) => r.event === 'end' && r.code === 0).length, 2);
});

test('a trial that runs past its timeout is stopped at the timeout, counted from its start', async () => {
  const owner = new TestCluster(sharedServerConfig().address);
  cleanups.push(() => owner.stop());
  await owner.startWorker('t2');
  const sweepId = await owner.start('  x: [1]\n  steps: 50\n  step_ms: 100', { settings: 'timeout: 2s\nretries: 0' });
  const watched = await owner.sweep(['watch', sweepId]);
  assert.equal(watched.code, 1, 'the sweep failed');
  assert.match(watched.stdout, /timed out after 2s of running/);
  const records = owner.records(sweepId);
  const start = records.find((r) => r.event === 'start');
  const stopped = records.find((r) => r.event === 'sigterm');
  assert.ok(start && stopped, JSON.stringify(records));
  const ranMs = stopped.time - start.time;
  // The record is written once node has started, a little after the process itself.
  assert.ok(ranMs > 1500 && ranMs < 3000, `stopped ${ranMs} ms after its start`);
});
