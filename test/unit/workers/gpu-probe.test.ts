import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseNvidiaSmi } from '../../../src/workers/gpu-probe.js';

test('nvidia-smi CSV becomes one record per GPU', () => {
  const csv = '0, NVIDIA H200, 143771, 143000, 0\n1, NVIDIA A100-SXM4-80GB, 81920, 1024, 97\n\n';
  assert.deepEqual(parseNvidiaSmi(csv), [
    { index: 0, name: 'NVIDIA H200', memoryTotalMb: 143771, memoryFreeMb: 143000, utilizationPercent: 0 },
    { index: 1, name: 'NVIDIA A100-SXM4-80GB', memoryTotalMb: 81920, memoryFreeMb: 1024, utilizationPercent: 97 },
  ]);
  assert.deepEqual(parseNvidiaSmi('No devices were found\n'), []);
});
