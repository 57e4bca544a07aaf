import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseComputeApps, parseNvidiaSmi, probeGpus } from '../../../src/workers/gpu-probe.js';
import { FakeGpus, fakeGpu } from '../../helpers/fake-gpus.js';

const H200 = 'GPU-4f3c6a2e-1b2c-3d4e-5f60-718293a4b5c6';
const A100 = 'GPU-0d6b1c2a-9e8f-4a3b-b2c1-d0e9f8a7b6c5';

test('nvidia-smi CSV becomes one record per GPU', () => {
  const csv = `0, ${H200}, NVIDIA H200, 143771, 143000, 0\n1, ${A100}, NVIDIA A100-SXM4-80GB, 81920, 1024, 97\n\n`;
  assert.deepEqual(parseNvidiaSmi(csv), [
    {
      index: 0,
      uuid: H200,
      name: 'NVIDIA H200',
      mig: false,
      memoryTotalMib: 143771,
      memoryFreeMib: 143000,
      utilizationPercent: 0,
    },
    {
      index: 1,
      uuid: A100,
      name: 'NVIDIA A100-SXM4-80GB',
      mig: false,
      memoryTotalMib: 81920,
      memoryFreeMib: 1024,
      utilizationPercent: 97,
    },
  ]);
  assert.deepEqual(parseNvidiaSmi('No devices were found\n'), []);
  assert.deepEqual(parseNvidiaSmi(''), []);
});

test('a name with commas is what lies between the uuid and the last three figures', () => {
  const [gpu] = parseNvidiaSmi(`3, ${A100}, NVIDIA Graphics Device, Rev. A1, (engineering sample), 16384, 16000, 5\n`);
  assert.equal(gpu?.index, 3);
  assert.equal(gpu?.uuid, A100);
  assert.equal(gpu?.name, 'NVIDIA Graphics Device, Rev. A1, (engineering sample)');
  assert.deepEqual([gpu?.memoryTotalMib, gpu?.memoryFreeMib, gpu?.utilizationPercent], [16384, 16000, 5]);
});

test('[N/A], [Not Supported] and other bracketed answers are unknown figures, never NaN', () => {
  const csv = [
    `0, ${H200}, NVIDIA A100-SXM4-40GB, 40960, [N/A], [N/A]`,
    `1, ${A100}, NVIDIA GeForce GTX 1080, 8119, 7000, [Not Supported]`,
    `2, GPU-lost, NVIDIA T4, [Unknown Error], [GPU is lost], N/A`,
  ].join('\n');
  assert.deepEqual(
    parseNvidiaSmi(csv).map((gpu) => [gpu.memoryTotalMib, gpu.memoryFreeMib, gpu.utilizationPercent]),
    [
      [40960, undefined, undefined],
      [8119, 7000, undefined],
      [undefined, undefined, undefined],
    ],
  );
});

test('MIG devices are kept with their MIG uuid and their GPU index', () => {
  const csv = [
    `0, ${A100}, NVIDIA A100-SXM4-40GB, 40960, 40000, [N/A]`,
    '0, MIG-0e3f5b6a-7c8d-5e9f-a0b1-c2d3e4f5a6b7, NVIDIA A100-SXM4-40GB MIG 1g.5gb, 4864, 4800, [N/A]',
    `0:1, MIG-GPU-${A100.slice(4)}/1/0, NVIDIA A100-SXM4-40GB MIG 2g.10gb, 9856, 9800, [N/A]`,
  ].join('\n');
  assert.deepEqual(
    parseNvidiaSmi(csv).map((gpu) => [gpu.index, gpu.uuid.slice(0, 8), gpu.mig, gpu.memoryFreeMib]),
    [
      [0, 'GPU-0d6b', false, 40000],
      [0, 'MIG-0e3f', true, 4800],
      [0, 'MIG-GPU-', true, 9800],
    ],
  );
});

test('warnings, blank lines and CRLF around the table are skipped', () => {
  const csv = [
    'WARNING: infoROM is corrupted at gpu 0000:00:04.0',
    '',
    `0, ${H200}, NVIDIA H200, 143771, 143000, 12\r`,
    '   ',
    'Unable to determine the device handle for GPU 0000:3B:00.0: Unknown Error',
    '1, not-a-uuid, NVIDIA H200, 1, 2, 3',
  ].join('\n');
  assert.deepEqual(
    parseNvidiaSmi(csv).map((gpu) => [gpu.index, gpu.utilizationPercent]),
    [[0, 12]],
  );
});

test('compute apps become one process each, with its GPU and used memory', () => {
  const csv = [
    `${H200}, 12345, 20480`,
    `${A100}, 222, [N/A]`,
    'No running processes found',
    '',
    `MIG-0e3f5b6a-7c8d-5e9f-a0b1-c2d3e4f5a6b7, 333, 512`,
  ].join('\n');
  assert.deepEqual(parseComputeApps(csv), [
    { gpuUuid: H200, pid: 12345, usedMemoryMib: 20480 },
    { gpuUuid: A100, pid: 222, usedMemoryMib: undefined },
    { gpuUuid: 'MIG-0e3f5b6a-7c8d-5e9f-a0b1-c2d3e4f5a6b7', pid: 333, usedMemoryMib: 512 },
  ]);
  assert.deepEqual(parseComputeApps(''), []);
});

test('probeGpus: the GPUs of the nvidia-smi on PATH; undefined without one or with a broken driver', (t) => {
  const fake = new FakeGpus({ gpus: [fakeGpu(0), fakeGpu(1, { name: 'NVIDIA Foo, Rev 2', memoryFreeMib: null })] });
  const path = process.env.PATH;
  t.after(() => {
    process.env.PATH = path;
    delete process.env.FAKE_NVIDIA_SMI_STATE;
    fake.remove();
  });
  process.env.PATH = fake.env.PATH;
  process.env.FAKE_NVIDIA_SMI_STATE = fake.statePath;
  assert.deepEqual(
    probeGpus()?.map((gpu) => [gpu.index, gpu.uuid, gpu.name, gpu.memoryFreeMib]),
    [
      [0, 'GPU-fake-0', 'NVIDIA A100-SXM4-80GB', 81920],
      [1, 'GPU-fake-1', 'NVIDIA Foo, Rev 2', undefined],
    ],
  );
  fake.breakDriver();
  assert.equal(probeGpus(), undefined);
  process.env.PATH = '/nonexistent';
  assert.equal(probeGpus(), undefined);
});
