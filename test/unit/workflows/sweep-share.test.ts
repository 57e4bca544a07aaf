import assert from 'node:assert/strict';
import { test } from 'node:test';
import { attemptPriority, TEMPORAL_PRIORITY_LEVELS, type SweepShare } from '../../../src/workflows/sweep-share.js';
import { FAIR_DISPATCH_CONFIG } from '../../../src/temporal/fair-dispatch.js';
import { planTrial } from '../../../src/workflows/trial-plan.js';
import { DEFAULT_SWEEP_OPTIONS } from '../../../src/cli/sweep-client.js';
import { specOf } from '../../helpers/spec.js';

const share = (priority: number): SweepShare => ({ owner: 'alice', priority, weight: 2 });

test('attemptPriority: fair by owner at its weight; a retry goes before fresh trials of its priority only', () => {
  assert.deepEqual(attemptPriority(share(3), 1), { priorityKey: 6, fairnessKey: 'alice', fairnessWeight: 2 });
  assert.equal(attemptPriority(share(3), 2).priorityKey, 5);
  assert.equal(attemptPriority(share(3), 7).priorityKey, 5);
  // Every Sweep priority's keys lie above the next one's, retries included, and inside the server's levels.
  for (let priority = 1; priority < 5; priority++) {
    assert.ok(attemptPriority(share(priority), 1).priorityKey < attemptPriority(share(priority + 1), 2).priorityKey);
  }
  assert.equal(attemptPriority(share(5), 1).priorityKey, TEMPORAL_PRIORITY_LEVELS);
  assert.equal(attemptPriority(share(1), 2).priorityKey, 1);
  assert.ok(FAIR_DISPATCH_CONFIG.includes(`matching.priorityLevels=${TEMPORAL_PRIORITY_LEVELS}`));
});

test('planTrial: the sweep’s share reaches every trial’s policy; without one, none (first in, first out)', () => {
  const spec = specOf('priority: 2\nweight: 3\nparameters:\n  x: [1, 2]');
  assert.deepEqual([spec.priority, spec.weight], [2, 3]);
  const options = { ...DEFAULT_SWEEP_OPTIONS, pool: 'default', controlQueue: 'sweep-control' };
  const shared = { owner: 'bob', priority: 2, weight: 3 };
  assert.deepEqual(planTrial(spec, 1, 's', { ...options, share: shared }).policy.share, shared);
  assert.equal(planTrial(spec, 1, 's', options).policy.share, undefined);
});
