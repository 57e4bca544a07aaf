import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SweepUpdates, type UpdateSource } from '../../../src/activities/sweep-updates.js';
import type { CacheUpdate } from '../../../src/workflows/types.js';
import { until } from '../../helpers/until.js';

/** A sweep's updates, and a count of how it was read. */
function source() {
  const updates: CacheUpdate[] = [];
  const calls = { describes: 0, queries: 0 };
  const gate = { up: false, hold: false };
  const read: UpdateSource = {
    latest: () => {
      calls.describes++;
      return Promise.resolve({ version: updates.length, gateUp: gate.up, holdAtCheckpoint: gate.hold });
    },
    updatesSince: (_sweepId, version) => {
      calls.queries++;
      return Promise.resolve(updates.slice(version));
    },
  };
  const record = () => updates.push({ version: updates.length + 1, at: 0, data: { n: updates.length + 1 } });
  return { read, record, calls, gate };
}

test('a worker queries a sweep only when its update version moved', async () => {
  const sweep = source();
  const cache = new SweepUpdates(sweep.read, 1000);
  assert.deepEqual(await cache.current('s'), []);
  assert.deepEqual(sweep.calls, { describes: 1, queries: 0 });
  sweep.record();
  sweep.record();
  assert.deepEqual(
    (await cache.current('s')).map((update) => update.version),
    [1, 2],
  );
  assert.deepEqual(sweep.calls, { describes: 2, queries: 1 });
  await cache.current('s');
  assert.deepEqual(sweep.calls, { describes: 3, queries: 1 }, 'nothing new: a describe, no query');
  sweep.record();
  assert.deepEqual(
    (await cache.current('s')).map((update) => update.version),
    [1, 2, 3],
  );
});

test('the running trials of a sweep share one periodic check, and it stops when the last one leaves', async () => {
  const sweep = source();
  const cache = new SweepUpdates(sweep.read, 5);
  const seen: number[][] = [[], []];
  const stops = seen.map((versions) =>
    cache.follow('s', (updates) => versions.splice(0, versions.length, ...updates.map((update) => update.version))),
  );
  sweep.record();
  while (seen.some((versions) => versions.length < 1)) await new Promise((resolve) => setTimeout(resolve, 5));
  const describes = sweep.calls.describes;
  assert.ok(describes <= 3, `one check per tick for both trials (${describes} describes)`);
  for (const stop of stops) stop();
  await new Promise((resolve) => setTimeout(resolve, 30));
  assert.ok(sweep.calls.describes <= describes + 1, 'no checks once nobody follows');
  assert.deepEqual(seen, [[1], [1]]);
});

test('a failed check is skipped, and the next one delivers', async () => {
  let fail = true;
  const cache = new SweepUpdates(
    {
      latest: () =>
        fail
          ? Promise.reject(new Error('unreachable'))
          : Promise.resolve({ version: 1, gateUp: false, holdAtCheckpoint: false }),
      updatesSince: () => Promise.resolve([{ version: 1, at: 0, data: {} }]),
    },
    5,
  );
  await assert.rejects(cache.current('s'), /unreachable/);
  let delivered = 0;
  const stop = cache.follow('s', (updates) => (delivered = updates.length));
  await new Promise((resolve) => setTimeout(resolve, 20));
  assert.equal(delivered, 0);
  fail = false;
  while (delivered === 0) await new Promise((resolve) => setTimeout(resolve, 5));
  stop();
  assert.equal(delivered, 1);
});

test('the start gate is read with the version, afresh at each check before a trial starts', async () => {
  const sweep = source();
  const cache = new SweepUpdates(sweep.read, 1000);
  assert.equal(cache.gateUp('s'), false, 'unknown until read');
  await cache.current('s');
  assert.equal(cache.gateUp('s'), false);
  sweep.gate.up = true;
  assert.equal(cache.gateUp('s'), false, 'the last read, until the next');
  await cache.current('s');
  assert.equal(cache.gateUp('s'), true);
  assert.deepEqual(sweep.calls, { describes: 2, queries: 0 }, 'no query for it: the describe carries it');
});

test('a hold at checkpoints is read with the gate, and forgotten once no trial of the sweep runs here', async () => {
  const sweep = source();
  const cache = new SweepUpdates(sweep.read, 5);
  const stop = cache.follow('s', () => undefined);
  assert.equal(cache.holdsAtCheckpoint('s'), false, 'unknown until read');
  sweep.gate.up = true;
  sweep.gate.hold = true;
  await until('the periodic check of a running trial to read the hold', () => cache.holdsAtCheckpoint('s'), 5000);
  assert.equal(cache.gateUp('s'), true);
  stop();
  assert.equal(cache.holdsAtCheckpoint('s'), false, 'nobody follows the sweep: a later trial reads afresh');
});
