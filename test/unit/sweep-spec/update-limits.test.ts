import assert from 'node:assert/strict';
import { test } from 'node:test';
import { jsonBytes, MAX_UPDATES, updateProblem } from '../../../src/workflows/update-limits.js';

test('update sizes are UTF-8 bytes of the JSON text', () => {
  assert.equal(jsonBytes({ a: 'é' }), 10);
  assert.equal(jsonBytes({ a: '😀' }), 12);
});

test('update caps are checked with messages that say the limit', () => {
  assert.equal(updateProblem({ a: 1 }, 0, 0), undefined);
  assert.equal(updateProblem([1], 0, 0), 'an update must be a mapping of keys to values');
  assert.equal(updateProblem({}, 0, 0), 'an update must have at least one key');
  assert.equal(updateProblem({ a: 1 }, MAX_UPDATES, 0), 'the sweep already has 1000 updates, the most it takes');
  assert.equal(
    updateProblem({ a: 1 }, 1, 1024 * 1024),
    "the sweep's updates would total 1048583 bytes; at most 1048576 are allowed",
  );
});
