import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FENCE_MARGIN_MS, fenceAfterMs } from '../../../src/activities/server-watch.js';

test('a trial is fenced at the heartbeat deadline less the margin, not at half of it', () => {
  assert.equal(FENCE_MARGIN_MS, 3000);
  assert.equal(fenceAfterMs(30), 27_000);
  assert.equal(fenceAfterMs(20), 17_000);
});

test('short heartbeat timeouts are fenced at half, so the kill still comes first', () => {
  assert.equal(fenceAfterMs(6), 3000);
  assert.equal(fenceAfterMs(4), 2000);
});
