import assert from 'node:assert/strict';
import { test } from 'node:test';
import { describeRequest, resourceRequest, shapeOf } from '../../../src/workflows/resource-request.js';

test('the spec asks in decimal MB; the request is in MiB, as nvidia-smi counts', () => {
  assert.equal(resourceRequest({}), undefined, 'nothing asked: one slot of whatever the worker has');
  assert.deepEqual(resourceRequest({ gpus: 2, gpuMemoryMb: 10 * 1.073741824 * 1000, memoryMb: 16000 }), {
    gpus: 2,
    gpuMemoryMib: 10240,
    memoryMib: 15259,
  });
  assert.deepEqual(resourceRequest({ gpuMemoryMb: 1000 }), { gpus: 1, gpuMemoryMib: 954 }, 'GPU memory asks for a GPU');
  assert.deepEqual(resourceRequest({ reserveHost: true, gpuUtilization: 0.5 }), {
    gpuUtilization: 0.5,
    reserveHost: true,
  });
});

test('the shape picks the queue: by GPU count, CPU only, the whole host, or anything', () => {
  assert.equal(shapeOf(undefined), 'any');
  assert.equal(shapeOf({ cpus: 4 }), 'any');
  assert.equal(shapeOf({ gpus: 0 }), 'cpu');
  assert.equal(shapeOf({ gpus: 3 }), 'gpus-3');
  assert.equal(shapeOf({ gpus: 2, reserveHost: true }), 'host');
});

test('a request in words', () => {
  assert.equal(
    describeRequest(undefined),
    'one slot of whatever the worker has (a GPU, or a CPU slot on a CPU worker)',
  );
  assert.equal(describeRequest({ gpus: 0, cpus: 1, memoryMib: 4096 }), 'CPU only, 1 CPU, 4 GiB RAM');
  assert.equal(
    describeRequest({
      gpus: 2,
      gpuMemoryMib: 10240,
      gpuShare: true,
      gpuUtilization: 0.333,
      cpus: 4,
      reserveHost: true,
      labels: { gpu_model: 'A100', zone: 'eu' },
    }),
    'the whole host, 2 GPUs on one host, 10 GiB free on each GPU, GPUs shared while memory allows, ' +
      'GPUs at most 33.3% busy, 4 CPUs, labels gpu_model=A100 zone=eu',
  );
});
