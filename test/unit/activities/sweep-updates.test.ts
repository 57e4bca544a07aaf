import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SweepUpdates, type UpdateSource } from '../../../src/activities/sweep-updates.js';
import type { CacheUpdate } from '../../../src/workflows/types.js';

/** A sweep's updates, and a count of how it was read. */
function source() {
  const updates: CacheUpdate[] = [];
  const calls = { describes: 0, queries: 0 };
  const read: UpdateSource = {
    latestVersion: () => {
      calls.describes++;
      return Promise.resolve(updates.length);
    },
    updatesSince: (_sweepId, version) => {
      calls.queries++;
      return Promise.resolve(updates.slice(version));
    },
  };
  const record = () => updates.push({ version: updates.length + 1, at: 0, data: { n: updates.length + 1 } });
  return { read, record, calls };
}

test('a worker queries a sweep only when its update version moved', async () => {
  const sweep = source();
  const cache = new SweepUpdates(sweep.read);
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

test('running trials share recent checks; a trial about to start always checks afresh', async () => {
  let now = 0;
  const sweep = source();
  const cache = new SweepUpdates(sweep.read, () => now);
  await cache.recent('s', 500);
  now = 400;
  await cache.recent('s', 500);
  assert.equal(sweep.calls.describes, 1);
  now = 901;
  await cache.recent('s', 500);
  assert.equal(sweep.calls.describes, 2);
  await cache.current('s');
  assert.equal(sweep.calls.describes, 3);
});

test('a failed read is not reused by the next caller', async () => {
  let fail = true;
  const cache = new SweepUpdates({
    latestVersion: () => (fail ? Promise.reject(new Error('unreachable')) : Promise.resolve(0)),
    updatesSince: () => Promise.resolve([]),
  });
  await assert.rejects(cache.recent('s', 10_000), /unreachable/);
  fail = false;
  assert.deepEqual(await cache.recent('s', 10_000), []);
});
