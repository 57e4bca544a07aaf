// Trials get the hardware they ask for, on real workers whose nvidia-smi is scripted (no GPU here): each test
// judges from the trial processes' own records (what they saw in CUDA_VISIBLE_DEVICES, when they ran), never
// from Sweep's account.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { concurrencyAtStarts, spans, TestCluster, type Span } from '../helpers/cluster.js';
import { startSweep } from '../helpers/processes.js';
import { fakeGpu, FakeGpus, type FakeNvidiaSmiState } from '../helpers/fake-gpus.js';
import { sharedServerConfig, uniqueName } from '../helpers/temporal.js';

const GIB = 1024;
const cleanups: (() => Promise<void>)[] = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

/** A cluster with one worker owning these fake GPUs, measured five times a second. */
async function gpuCluster(state: FakeNvidiaSmiState, flags: readonly string[]) {
  const cluster = new TestCluster(sharedServerConfig().address);
  const gpus = new FakeGpus(state);
  cleanups.push(async () => {
    await cluster.stop();
    gpus.remove();
  });
  const name = uniqueName('host');
  await cluster.startWorkerWith(name, [...flags, '--queue', name, '--measure-every', '0.2'], {
    env: gpus.env,
    ready: /ready/,
  });
  return { cluster, gpus, name };
}

function overlap(a: Span, b: Span): boolean {
  return a !== b && a.from < b.to && b.from < a.to;
}

/** The most trial processes that ran at once. */
function mostAtOnce(runs: readonly Span[]): number {
  return Math.max(...concurrencyAtStarts(runs, runs));
}

async function statusUntil(cluster: TestCluster, sweepId: string, pattern: RegExp): Promise<string> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const status = await cluster.sweep(['status', sweepId]);
    if (pattern.test(status.stdout)) return status.stdout;
    if (Date.now() > deadline) assert.fail(`status never matched ${pattern}:\n${status.stdout}${status.stderr}`);
    await delay(300);
  }
}

test('a trial that needs more GPU memory than is free waits, says why, and starts when another user frees it', async () => {
  const { cluster, gpus, name } = await gpuCluster(
    {
      gpus: [fakeGpu(0, { memoryFreeMib: 10 * GIB }), fakeGpu(1, { memoryFreeMib: 20 * GIB })],
      // Another user's job: it shows as used memory and a process that is not Sweep's.
      apps: [{ gpuUuid: 'GPU-fake-0', pid: 999_999, usedMemoryMib: 70 * GIB }],
    },
    ['--gpus', '0,1'],
  );
  const sweepId = await cluster.start('  x: [1]\n  steps: 2\n  step_ms: 50', {
    settings: 'resources: {gpus: 1, gpu_memory: 40GiB}',
  });
  const status = await statusUntil(cluster, sweepId, /needs 40 GiB GPU memory/);
  assert.match(status, new RegExp(`t0: needs 40 GiB GPU memory; the most free is 20 GiB on ${name}-gpu1`));
  assert.deepEqual(cluster.records(sweepId), [], 'nothing ran while no GPU had the memory');

  const freedAt = Date.now();
  gpus.removeApp(999_999);
  gpus.setGpu(0, { memoryFreeMib: 80 * GIB });
  assert.equal((await cluster.sweep(['watch', sweepId])).code, 0);
  const [run, ...others] = spans(cluster.records(sweepId));
  assert.equal(others.length, 0);
  assert.ok(run && run.from >= freedAt, 'it started only after the memory was freed');
  assert.equal(run.devices, '0', 'on the GPU whose memory was freed');
});

test('another user’s job that appears on a GPU while the sweep runs: later trials that need the memory avoid it', async () => {
  const { cluster, gpus } = await gpuCluster({ gpus: [fakeGpu(0), fakeGpu(1)] }, ['--gpus', '0,1']);
  const sweepId = await cluster.start('  x: [1, 2, 3, 4, 5, 6]\n  steps: 3\n  step_ms: 200', {
    settings: 'resources: {gpus: 1, gpu_memory: 40GiB}',
  });
  await cluster.waitForRecords((records) =>
    records.some((record) => record.sweep === sweepId && record.event === 'end'),
  );
  gpus.addApp({ gpuUuid: 'GPU-fake-0', pid: 999_998, usedMemoryMib: 70 * GIB });
  gpus.setGpu(0, { memoryFreeMib: 10 * GIB });
  const appearedAt = Date.now();
  assert.equal((await cluster.sweep(['watch', sweepId])).code, 0);
  // A measurement takes up to 0.2 s to see it, and a trial placed just before may start just after.
  const later = spans(cluster.records(sweepId)).filter((run) => run.from > appearedAt + 1000);
  assert.ok(later.length > 0, 'some trials started after the other job appeared');
  assert.ok(
    later.every((run) => run.devices === '1'),
    `trials after it kept off GPU 0: ${JSON.stringify(later)}`,
  );
});

test('a 2-GPU trial gets two distinct GPUs; two of them on a 3-GPU host take turns and never deadlock', async () => {
  const { cluster } = await gpuCluster({ gpus: [fakeGpu(0), fakeGpu(1), fakeGpu(2)] }, ['--all-gpus']);
  const sweepId = await cluster.start('  x: [1, 2, 3]\n  steps: 3\n  step_ms: 200', {
    settings: 'resources: {gpus: 2}',
  });
  assert.equal((await cluster.sweep(['watch', sweepId])).code, 0);
  const runs = spans(cluster.records(sweepId));
  assert.equal(runs.length, 3);
  for (const run of runs) {
    const devices = run.devices.split(',');
    assert.equal(new Set(devices).size, 2, `trial ${run.trial} saw ${run.devices}`);
    assert.equal(run.code, 0);
  }
  for (const a of runs) for (const b of runs) assert.ok(!overlap(a, b), 'two pairs never ran at once on 3 GPUs');
});

test('gpu_share packs two trials on one GPU while memory allows, and not a third', async () => {
  const { cluster } = await gpuCluster({ gpus: [fakeGpu(0)] }, ['--gpu', '0']);
  const sweepId = await cluster.start('  x: [1, 2, 3, 4]\n  steps: 4\n  step_ms: 250', {
    settings: 'resources: {gpu_memory: 30GiB, gpu_share: true}',
  });
  assert.equal((await cluster.sweep(['watch', sweepId])).code, 0);
  const runs = spans(cluster.records(sweepId));
  assert.equal(runs.length, 4);
  assert.ok(runs.every((run) => run.devices === '0'));
  assert.equal(mostAtOnce(runs), 2, 'two at once (60 of 80 GiB), never three');
});

test('reserve: host runs alone and sees every GPU; gpus: 0 runs on a CPU slot with no GPU', async () => {
  const { cluster } = await gpuCluster({ gpus: [fakeGpu(0), fakeGpu(1)] }, ['--all-gpus', '--cpu-slots', '2']);
  const [host, cpu, plain] = await Promise.all([
    cluster.start('  x: [1, 2]\n  steps: 3\n  step_ms: 150', { settings: 'resources: {reserve: host}' }),
    cluster.start('  x: [1, 2, 3]\n  steps: 3\n  step_ms: 150', { settings: 'resources: {gpus: 0}' }),
    cluster.start('  x: [1, 2, 3]\n  steps: 3\n  step_ms: 150'),
  ]);
  for (const sweepId of [host, cpu, plain]) assert.equal((await cluster.sweep(['watch', sweepId])).code, 0);
  const runs = spans(cluster.records());
  const hostRuns = runs.filter((run) => run.sweep === host);
  assert.equal(hostRuns.length, 2);
  for (const run of hostRuns) {
    assert.equal(run.devices, '0,1');
    const beside = runs.filter((other) => overlap(run, other));
    assert.deepEqual(beside, [], 'nothing ran beside a trial that reserved the host');
  }
  assert.ok(
    runs.filter((run) => run.sweep === cpu).every((run) => run.devices === ''),
    'gpus: 0 sees no GPU',
  );
  assert.ok(runs.filter((run) => run.sweep === plain).every((run) => run.devices === '0' || run.devices === '1'));
});

test('a trial no worker could ever hold is refused at start with the reason, and reported when started anyway', async () => {
  const { cluster, name } = await gpuCluster({ gpus: [fakeGpu(0), fakeGpu(1)] }, ['--all-gpus']);
  const workers = await cluster.waitUntilListed(name);
  assert.match(workers, new RegExp(`${name} .* 2× NVIDIA A100-SXM4-80GB \\(80 GiB\\)`));

  const parameters = '  x: [1]\n  steps: 1\n  step_ms: 10';
  const four = await cluster.start(parameters, { settings: 'resources: {gpus: 4}' }).then(
    () => 'started',
    (error: unknown) => String(error),
  );
  assert.match(four, /failed \(2\)/);
  assert.match(
    four,
    new RegExp(`every trial needs 4 GPUs on one host; the largest worker of pool "${cluster.pool}" has 2`),
  );
  const memory = await cluster.start(parameters, { settings: 'resources: {gpu_memory: 900GiB}' }).then(
    () => 'started',
    (error: unknown) => String(error),
  );
  assert.match(memory, new RegExp(`needs 900 GiB GPU memory; the largest GPU of ${name} has 80 GiB`));

  const anyway = await cluster.start(parameters, {
    settings: 'resources: {gpu_memory: 900GiB}',
    args: ['--wait-for-capacity'],
  });
  await statusUntil(cluster, anyway, /no live worker can run its trials: every trial needs 900 GiB GPU memory/);
  const watch = startSweep(['watch', anyway], { env: { ...process.env, TEMPORAL_ADDRESS: cluster.address } });
  await watch.waitForOutput(
    /no live worker can run its trials: every trial needs 900 GiB GPU memory/,
    30_000,
    'stderr',
  );
  await watch.signal('SIGTERM');
  // The worker it was offered to gave it back with the reason, which the trial keeps.
  await statusUntil(cluster, anyway, new RegExp(`waiting: t0: needs 900 GiB GPU memory; the largest GPU of ${name}`));
  assert.equal((await cluster.sweep(['cancel', anyway])).code, 0);
  assert.deepEqual(cluster.records(anyway), [], 'it never ran');
});
