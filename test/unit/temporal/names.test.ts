import assert from 'node:assert/strict';
import { test } from 'node:test';
import { shapeQueue, trialQueue, workerQueue } from '../../../src/temporal/names.js';

test("a trial waits on its shape's queue, or on its worker's own queue when it names one", () => {
  assert.equal(shapeQueue('lab', 'any'), 'sweep-pool-lab');
  assert.equal(shapeQueue('lab', 'gpus-2'), 'sweep-pool-lab/gpus-2');
  assert.equal(workerQueue('lab', 'hostb-gpu1'), 'sweep-pool-lab/worker/hostb-gpu1');
  assert.equal(trialQueue('lab', 'gpus-2', undefined), 'sweep-pool-lab/gpus-2');
  assert.equal(trialQueue('lab', 'any', 'hostb-gpu1'), 'sweep-pool-lab/worker/hostb-gpu1');
});
