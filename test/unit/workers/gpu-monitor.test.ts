import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GpuMonitor, type MonitorSnapshot } from '../../../src/workers/gpu-monitor.js';
import { FakeGpus, fakeGpu } from '../../helpers/fake-gpus.js';

/** Resolves with the first snapshot (the current one, or a later one) that `holds`; fails after `timeoutMs`. */
function snapshotWhere(
  monitor: GpuMonitor,
  what: string,
  holds: (snapshot: MonitorSnapshot) => boolean,
  timeoutMs = 15_000,
): Promise<MonitorSnapshot> {
  return new Promise((resolve, reject) => {
    const check = (snapshot: MonitorSnapshot | undefined) => {
      if (!snapshot || !holds(snapshot)) return false;
      clearTimeout(timer);
      unsubscribe();
      resolve(snapshot);
      return true;
    };
    const unsubscribe = monitor.onChange(check);
    const timer = setTimeout(() => {
      unsubscribe();
      reject(new Error(`timed out waiting for ${what}; last snapshot: ${JSON.stringify(monitor.snapshot)}`));
    }, timeoutMs);
    check(monitor.snapshot);
  });
}

function monitorOf(fake: FakeGpus, t: { after: (fn: () => Promise<void> | void) => void }, timeoutMs?: number) {
  const monitor = new GpuMonitor({ intervalMs: 50, env: fake.env, ...(timeoutMs ? { timeoutMs } : {}) });
  t.after(async () => {
    await monitor.stop();
    fake.remove();
  });
  return monitor;
}

test("the monitor sees free memory, utilisation and another user's process change while it runs", async (t) => {
  const fake = new FakeGpus({ gpus: [fakeGpu(0), fakeGpu(1, { name: 'NVIDIA Foo, Rev 2' })] });
  const monitor = monitorOf(fake, t);
  const first = await monitor.start();
  assert.deepEqual(
    first.gpus?.map((gpu) => [gpu.index, gpu.uuid, gpu.name, gpu.memoryFreeMib, gpu.utilizationPercent]),
    [
      [0, 'GPU-fake-0', 'NVIDIA A100-SXM4-80GB', 81920, 0],
      [1, 'GPU-fake-1', 'NVIDIA Foo, Rev 2', 81920, 0],
    ],
  );
  assert.deepEqual(first.processes, []);
  assert.equal(first.error, undefined);
  assert.ok(first.host.memoryAvailableBytes > 0);

  fake.setGpu(1, { memoryFreeMib: 1024, utilizationPercent: 97 });
  fake.addApp({ gpuUuid: 'GPU-fake-1', pid: 4242, usedMemoryMib: 80896 });
  const busy = await snapshotWhere(
    monitor,
    'GPU 1 busy',
    (s) => s.gpus?.[1]?.memoryFreeMib === 1024 && s.processes.length > 0,
  );
  assert.equal(busy.gpus?.[1]?.utilizationPercent, 97);
  assert.deepEqual(busy.processes, [{ gpuUuid: 'GPU-fake-1', pid: 4242, usedMemoryMib: 80896 }]);
  assert.ok((busy.at ?? 0) >= (first.at ?? Infinity));

  fake.update({ gpus: [fakeGpu(0, { memoryFreeMib: '[N/A]', utilizationPercent: '[Not Supported]' })], apps: [] });
  const unknown = await snapshotWhere(monitor, 'unknown figures', (s) => s.gpus?.length === 1);
  assert.deepEqual([unknown.gpus?.[0]?.memoryFreeMib, unknown.gpus?.[0]?.utilizationPercent], [undefined, undefined]);
});

test('a failing nvidia-smi keeps the last good figures and says why, until it answers again', async (t) => {
  const fake = new FakeGpus({ gpus: [fakeGpu(0, { memoryFreeMib: 5000 })] });
  const monitor = monitorOf(fake, t);
  const good = await monitor.start();

  fake.breakDriver();
  const failing = await snapshotWhere(monitor, 'an error', (s) => s.error !== undefined);
  assert.match(
    failing.error?.message ?? '',
    /^nvidia-smi --query-\S+: exit 9: NVIDIA-SMI has failed because it couldn't communicate/,
  );
  assert.equal(failing.at, good.at);
  assert.deepEqual(failing.gpus, good.gpus);
  assert.ok(failing.host.at >= good.host.at, 'host figures are still measured');

  fake.write({ gpus: [fakeGpu(0, { memoryFreeMib: 6000 })] });
  const recovered = await snapshotWhere(monitor, 'recovery', (s) => s.error === undefined && s !== failing);
  assert.equal(recovered.gpus?.[0]?.memoryFreeMib, 6000);
});

test('a hanging nvidia-smi is killed after the timeout and the last good figures stay', async (t) => {
  const fake = new FakeGpus({ gpus: [fakeGpu(0)] });
  const monitor = monitorOf(fake, t, 2000);
  const good = await monitor.start();

  fake.update({ hangMs: 60_000 });
  const hung = await snapshotWhere(monitor, 'a timeout', (s) => s.error !== undefined);
  assert.match(hung.error?.message ?? '', /^nvidia-smi --query-\S+: no answer in 2000 ms \(killed\)$/);
  assert.deepEqual(hung.gpus, good.gpus);
});

test('a host without nvidia-smi has no GPUs and no error, and its RAM and CPU are still measured', async (t) => {
  const monitor = new GpuMonitor({ intervalMs: 50, command: '/nonexistent/nvidia-smi' });
  t.after(() => monitor.stop());
  const snapshot = await monitor.start();
  assert.equal(snapshot.gpus, undefined);
  assert.deepEqual(snapshot.processes, []);
  assert.equal(snapshot.error, undefined);
  assert.ok(snapshot.host.cpus >= 1 && snapshot.host.memoryTotalBytes > 0);
});

test('a listener that throws does not stop the measuring', async (t) => {
  const fake = new FakeGpus({ gpus: [fakeGpu(0)] });
  const monitor = monitorOf(fake, t);
  const warnings: string[] = [];
  const onWarning = (warning: Error) => warnings.push(warning.message);
  process.on('warning', onWarning);
  t.after(() => process.off('warning', onWarning));
  monitor.onChange(() => {
    throw new Error('listener bug');
  });
  await monitor.start();
  fake.setGpu(0, { memoryFreeMib: 10 });
  await snapshotWhere(monitor, 'the change', (s) => s.gpus?.[0]?.memoryFreeMib === 10);
  assert.ok(warnings.includes('listener bug'));
});
