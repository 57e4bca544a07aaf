import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pickSweep } from '../../../src/cli/sweep-id-prefix.js';
import { thrownProblems } from '../../helpers/config-error.js';

test('a prefix that starts one sweep ID names that sweep', () => {
  assert.equal(pickSweep('lr-2026', ['lr-20261123-161500-a3f2']), 'lr-20261123-161500-a3f2');
});

test('a prefix that starts no sweep ID is no such sweep', () => {
  assert.deepEqual(
    thrownProblems(() => pickSweep('nope', [])),
    ['nope: no such sweep'],
  );
});

test('an ambiguous prefix lists the sweeps it matches', () => {
  assert.deepEqual(
    thrownProblems(() => pickSweep('lr', ['lr-a', 'lr-b'])),
    ['lr: ambiguous: it matches 2 sweeps (lr-a, lr-b); give more of the ID'],
  );
});

test('an ambiguous prefix lists five sweeps at most', () => {
  const ids = ['s-1', 's-2', 's-3', 's-4', 's-5', 's-6'];
  assert.deepEqual(
    thrownProblems(() => pickSweep('s', ids)),
    ['s: ambiguous: it matches more than 5 sweeps (s-1, s-2, s-3, s-4, s-5, …); give more of the ID'],
  );
});
