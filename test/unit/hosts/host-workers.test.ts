import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { InventoryHost } from '../../../src/hosts/inventory.js';
import { chooseGpus, hostWorkers } from '../../../src/hosts/host-workers.js';
import type { GpuInfo } from '../../../src/workers/gpu-probe.js';

const host: InventoryHost = {
  name: 'hostb',
  address: '10.0.0.2',
  port: 22,
  user: 'ben',
  keyFiles: [],
  agent: true,
  gpus: 'all',
  labels: { gpu_model: 'A100' },
  pool: 'lab',
  remoteDir: '~/sweep',
  node: 'node',
  projectDir: '/home/ben/project',
  include: [],
  exclude: [],
  file: 'hosts.yml',
};

function gpu(index: number, freeMib: number | undefined, mig = false): GpuInfo {
  return {
    index,
    uuid: `${mig ? 'MIG' : 'GPU'}-${index}-${freeMib}`,
    name: 'NVIDIA A100-SXM4-40GB',
    mig,
    memoryTotalMib: 40960,
    memoryFreeMib: freeMib,
    utilizationPercent: 0,
  };
}

const found = [gpu(0, 1000), gpu(1, 30000), gpu(2, 20000), gpu(3, undefined)];

test('GPUs chosen as the inventory says: all, a list, max_gpus with the most free memory, min_gpu_memory', () => {
  const cases: [Partial<InventoryHost>, ReturnType<typeof chooseGpus>][] = [
    [{}, { gpus: [0, 1, 2, 3] }],
    [{ gpus: [2, 0] }, { gpus: [0, 2] }],
    [{ gpus: [0, 7] }, { problem: 'gpus: GPU 7 is not on this host (it has 0,1,2,3)' }],
    [{ maxGpus: 2 }, { gpus: [1, 2] }],
    // 10 GB decimal is 9537 MiB: GPU 0's 1000 MiB and GPU 3's unknown free memory are not enough.
    [{ minGpuMemoryMb: 10_000 }, { gpus: [1, 2] }],
    [{ minGpuMemoryMb: 25_000, maxGpus: 2 }, { gpus: [1] }],
  ];
  for (const [fields, expected] of cases) {
    assert.deepEqual(chooseGpus({ ...host, ...fields }, found), expected, JSON.stringify(fields));
  }
  assert.deepEqual(chooseGpus({ ...host, gpus: [0] }, []), {
    problem: 'gpus: GPU 0 is not on this host (nvidia-smi lists none)',
  });
  assert.deepEqual(chooseGpus(host, [gpu(0, 5000, true), gpu(0, 5000, true), gpu(1, 100)]), { gpus: [0, 1] });
});

const layout = {
  node: '/usr/bin/node',
  sweepBin: '/home/ben/.sweep/bundles/abc/bin/sweep.js',
  dataDir: '/home/ben/.sweep/data',
  trialsDir: '/home/ben/sweep/.sweep/trials',
  projectDir: '/home/ben/sweep',
};

test('one worker per GPU on <host>-gpu<N>, a CPU worker where the host has no GPU or CPU slots are asked for', () => {
  const workers = hostWorkers(host, [0, 1], 16, layout);
  assert.deepEqual(
    workers.map((worker) => [worker.name, worker.gpu]),
    [
      ['hostb-gpu0', 0],
      ['hostb-gpu1', 1],
    ],
  );
  assert.deepEqual(workers[1]?.argv, [
    '/usr/bin/node',
    '/home/ben/.sweep/bundles/abc/bin/sweep.js',
    'worker',
    '--gpu',
    '1',
    '--queue',
    'hostb-gpu1',
    '--pool',
    'lab',
    '--label',
    'host=hostb',
    '--label',
    'gpu_model=A100',
    '--data-dir',
    '/home/ben/.sweep/data',
    '--trials-dir',
    '/home/ben/sweep/.sweep/trials',
    '--project-dir',
    '/home/ben/sweep',
  ]);
  assert.equal(workers[0]?.cwd, '/home/ben/sweep');
  assert.deepEqual(
    hostWorkers(host, [], 8, layout).map((worker) => worker.argv.slice(3, 7)),
    [['--cpu-slots', '8', '--queue', 'hostb-cpu']],
  );
  assert.deepEqual(
    hostWorkers({ ...host, cpuSlots: 2 }, [0], 8, layout).map((worker) => worker.name),
    ['hostb-gpu0', 'hostb-cpu'],
  );
  assert.deepEqual(hostWorkers({ ...host, cpuSlots: 0 }, [], 8, layout), []);
});

test('a host with python: runs the class on each GPU worker, and on one CPU worker where it has no GPU', () => {
  const classHost = { ...host, python: 'trainer:Trainer', init: 'conf/init.json' };
  const [gpuWorker] = hostWorkers(classHost, [0], 16, layout);
  const argv = gpuWorker?.argv ?? [];
  assert.deepEqual(argv.slice(argv.indexOf('--python'), argv.indexOf('--python') + 4), [
    '--python',
    'trainer:Trainer',
    '--init',
    '/home/ben/sweep/conf/init.json',
  ]);
  const [cpuWorker, ...more] = hostWorkers(classHost, [], 16, layout);
  assert.equal(more.length, 0);
  assert.deepEqual(cpuWorker?.argv.slice(3, 5), ['--cpu-slots', '1']);
});
