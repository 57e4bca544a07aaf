import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Measured, WorkerCapacity } from '../../../src/workers/placement-fit.js';
import { DoesNotFit, Placer, type MeasurementSource, type Placement } from '../../../src/workers/placer.js';
import { TaskPermits } from '../../../src/workers/task-permits.js';
import type { ResourceRequest } from '../../../src/workflows/resource-request.js';

const GIB = 1024;
const never = new AbortController().signal;

function capacity(fields: Partial<WorkerCapacity> & { gpuCount?: number } = {}): WorkerCapacity {
  const { gpuCount = 0, ...rest } = fields;
  return {
    name: 'hostb',
    gpus: Array.from({ length: gpuCount }, (_, index) => ({
      index,
      device: String(index),
      name: 'NVIDIA A100-SXM4-80GB',
      memoryTotalMib: 80 * GIB,
    })),
    slotsPerGpu: 1,
    cpuSlots: 0,
    cores: 16,
    memoryTotalMib: 64 * GIB,
    ownsHost: true,
    labels: { host: 'hostb' },
    ...rest,
  };
}

/** Figures a test sets; `refreshes` counts the placer's requests for a fresh measurement. */
class Figures implements MeasurementSource {
  gpuFree = new Map<number, number | undefined>();
  gpuBusy = new Map<number, number | undefined>();
  memoryAvailableMib: number | undefined = 64 * GIB;
  refreshes = 0;
  current(): Measured {
    return {
      gpuFreeMib: this.gpuFree,
      gpuUtilizationPercent: this.gpuBusy,
      memoryAvailableMib: this.memoryAvailableMib,
    };
  }
  usedByGroup(): ReadonlyMap<number, number> {
    return new Map();
  }
  refresh(): void {
    this.refreshes++;
  }
}

function placer(fields: Parameters<typeof capacity>[0] = {}, figures = new Figures()): Placer {
  return new Placer(capacity(fields), figures);
}

/** Whether `request` would start now (it takes its placement and gives it back). */
async function startsNow(target: Placer, request?: ResourceRequest): Promise<boolean> {
  const placement = await target.acquire(request, AbortSignal.abort());
  placement?.release();
  return placement !== undefined;
}

async function settled(): Promise<void> {
  await new Promise((resolve) => setImmediate(resolve));
}

test('slots: never more trials than slots, and a freed slot goes to the oldest waiter', async () => {
  const gate = placer({ cpuSlots: 2 });
  const first = await gate.acquire(undefined, never);
  const second = await gate.acquire(undefined, never);
  assert.ok(first && second);
  assert.equal(await startsNow(gate), false);
  const order: string[] = [];
  const third = gate.acquire(undefined, never).then((placement) => (order.push('third'), placement));
  const fourth = gate.acquire(undefined, never).then((placement) => (order.push('fourth'), placement));
  await settled();
  assert.deepEqual(order, []);
  first.release();
  first.release(); // a second release of the same placement is ignored
  const thirdPlacement = await third;
  await settled();
  assert.deepEqual(order, ['third']);
  second.release();
  const fourthPlacement = await fourth;
  assert.deepEqual(order, ['third', 'fourth']);
  thirdPlacement?.release();
  fourthPlacement?.release();
  assert.equal(await startsNow(gate), true);
});

test('a waiting trial gives up when its signal fires, and leaves the line', async () => {
  const gate = placer({ cpuSlots: 1 });
  const held = await gate.acquire(undefined, never);
  const abort = new AbortController();
  const waiting = gate.acquire(undefined, abort.signal);
  abort.abort('patience');
  assert.equal(await waiting, undefined);
  held?.release();
  assert.equal(await startsNow(gate), true, 'the abandoned waiter did not take the slot');
});

test('patience starts at 5 s, then follows twice the median runtime within 1 s and 30 s', async () => {
  const gate = placer({ cpuSlots: 1 });
  assert.equal(gate.patienceMs(), 5000);
  (await gate.acquire(undefined, never))?.release();
  assert.equal(gate.patienceMs(), 1000, 'a near-instant trial sets the floor');
});

test('a trial without resources takes one GPU slot; CUDA_VISIBLE_DEVICES and the name say which', async () => {
  const gate = placer({ gpuCount: 2 });
  const a = await gate.acquire(undefined, never);
  const b = await gate.acquire(undefined, never);
  assert.deepEqual([a?.visibleDevices, b?.visibleDevices], ['0', '1']);
  assert.deepEqual([a?.label, b?.label], ['hostb-gpu0', 'hostb-gpu1']);
  assert.equal(await startsNow(gate), false);
  assert.equal(await startsNow(gate, { gpus: 0 }).catch((error: unknown) => error instanceof DoesNotFit), true);
});

test('a 2-GPU trial gets two distinct GPUs of the worker, listed in bus order', async () => {
  const gate = placer({ gpuCount: 3 });
  const single = await gate.acquire({ gpus: 1 }, never);
  const pair = await gate.acquire({ gpus: 2 }, never);
  assert.equal(single?.visibleDevices, '0');
  assert.equal(pair?.visibleDevices, '1,2');
  assert.equal(pair?.label, 'hostb-gpu1+2');
});

test('two 2-GPU trials on a 3-GPU worker: one runs, the other holds nothing until both GPUs are free', async () => {
  const gate = placer({ gpuCount: 3 });
  const first = await gate.acquire({ gpus: 2 }, never);
  const reasons: string[] = [];
  const second = gate.acquire({ gpus: 2 }, never, (reason) => reasons.push(reason));
  await settled();
  assert.deepEqual(reasons, ["needs 2 GPUs together; 1 of hostb's 3 are free"]);
  // The free GPU is kept for the waiting pair: a single-GPU trial does not take it and starve the pair.
  assert.equal(gate.freeFor('gpus-1'), 0);
  assert.equal(await startsNow(gate, { gpus: 1 }), false);
  first?.release();
  const placed = await second;
  assert.equal(placed?.gpus.length, 2);
  assert.equal(await startsNow(gate, { gpus: 1 }), true, 'the third GPU is free again');
});

test('GPU memory: a trial waits for enough free memory, measured, and says where the most is', async () => {
  const figures = new Figures();
  figures.gpuFree.set(0, 10 * GIB).set(1, 24 * GIB);
  const gate = placer({ gpuCount: 2 }, figures);
  const reasons: string[] = [];
  const waiting = gate.acquire({ gpus: 1, gpuMemoryMib: 40 * GIB }, never, (reason, ours) =>
    reasons.push(`${reason} (${ours ? 'ours' : 'others'})`),
  );
  await settled();
  assert.deepEqual(reasons, ['needs 40 GiB GPU memory; the most free is 24 GiB on hostb-gpu1 (others)']);
  figures.gpuFree.set(0, 70 * GIB);
  gate.measurementsChanged();
  assert.equal((await waiting)?.visibleDevices, '0');
});

test('gpu_share packs trials on one GPU while their promised memory fits, and not one more', async () => {
  const figures = new Figures();
  figures.gpuFree.set(0, 80 * GIB);
  const gate = placer({ gpuCount: 1 }, figures);
  const small: ResourceRequest = { gpus: 1, gpuMemoryMib: 30 * GIB, gpuShare: true };
  const a = await gate.acquire(small, never);
  const b = await gate.acquire(small, never);
  assert.deepEqual([a?.visibleDevices, b?.visibleDevices], ['0', '0']);
  assert.equal(await startsNow(gate, small), false, 'a third would need 90 GiB of 80');
  assert.equal(await startsNow(gate, { gpus: 1 }), false, 'an exclusive trial does not join shared ones');
  a?.release();
  assert.equal(await startsNow(gate, small), true);
});

test('an exclusive GPU trial is not joined by a sharing one', async () => {
  const figures = new Figures();
  figures.gpuFree.set(0, 80 * GIB);
  const gate = placer({ gpuCount: 1 }, figures);
  await gate.acquire({ gpus: 1 }, never);
  assert.equal(await startsNow(gate, { gpus: 1, gpuMemoryMib: GIB, gpuShare: true }), false);
});

test('utilisation: a GPU busier than asked is skipped, with the least busy named', async () => {
  const figures = new Figures();
  figures.gpuBusy.set(0, 90).set(1, 95);
  const gate = placer({ gpuCount: 2 }, figures);
  const reasons: string[] = [];
  const waiting = gate.acquire({ gpus: 1, gpuUtilization: 0.75 }, never, (reason) => reasons.push(reason));
  await settled();
  assert.deepEqual(reasons, ['needs a GPU at most 75% busy; the least busy is 90% on hostb-gpu0']);
  figures.gpuBusy.set(1, 10);
  gate.measurementsChanged();
  assert.equal((await waiting)?.visibleDevices, '1');
});

test('reserve: host runs alone: it waits for the others and nothing joins it', async () => {
  const gate = placer({ gpuCount: 2, cpuSlots: 2 });
  const other = await gate.acquire({ gpus: 0 }, never);
  const reasons: string[] = [];
  const host = gate.acquire({ reserveHost: true }, never, (reason) => reasons.push(reason));
  await settled();
  assert.deepEqual(reasons, ['needs the whole host; 1 other trial run on hostb']);
  assert.equal(gate.freeFor('any'), 0, 'nothing more is fetched while it waits');
  other?.release();
  const placed = await host;
  assert.equal(placed?.visibleDevices, '0,1', 'it sees every GPU of the host');
  assert.equal(await startsNow(gate, { gpus: 0 }), false);
  assert.equal(await startsNow(gate), false);
});

test('gpus: 0 takes a CPU slot and no GPU, on a GPU worker that has CPU slots', async () => {
  const gate = placer({ gpuCount: 1, cpuSlots: 1 });
  const cpu = await gate.acquire({ gpus: 0 }, never);
  assert.equal(cpu?.visibleDevices, '');
  assert.equal(await startsNow(gate, { gpus: 1 }), true, 'the GPU stays free');
});

test('RAM and CPUs: claims count against the host, measured free RAM too', async () => {
  const figures = new Figures();
  figures.memoryAvailableMib = 20 * GIB;
  const gate = placer({ cpuSlots: 4, cores: 8 }, figures);
  const first = await gate.acquire({ memoryMib: 16 * GIB, cpus: 6 }, never);
  assert.ok(first);
  assert.equal(await startsNow(gate, { memoryMib: 8 * GIB }), false, 'the first trial was promised 16 of 20 GiB');
  assert.equal(await startsNow(gate, { cpus: 4 }), false, 'only 2 of 8 CPUs are not promised');
  assert.equal(await startsNow(gate, { cpus: 2 }), true);
});

test('what a worker could never hold is refused at once, with the reason', async () => {
  const gate = placer({ gpuCount: 2, ownsHost: false });
  const reasonOf = async (request: ResourceRequest) => {
    const error = await gate.acquire(request, never).then(
      () => undefined,
      (failure: unknown) => failure,
    );
    assert.ok(error instanceof DoesNotFit && error.never, `refused: ${JSON.stringify(request)}`);
    return error.reason;
  };
  assert.equal(await reasonOf({ gpus: 4 }), 'needs 4 GPUs on one host; hostb has 2');
  assert.equal(
    await reasonOf({ gpus: 1, gpuMemoryMib: 900 * GIB }),
    'needs 900 GiB GPU memory; the largest GPU of hostb has 80 GiB',
  );
  assert.equal(await reasonOf({ memoryMib: 4000 * GIB }), 'needs 4000 GiB RAM; hostb has 64 GiB');
  assert.equal(await reasonOf({ cpus: 64 }), 'needs 64 CPUs; hostb has 16');
  assert.equal(await reasonOf({ gpus: 0 }), 'needs a CPU slot; hostb has none (start it with --cpu-slots N)');
  assert.equal(
    await reasonOf({ labels: { gpu_model: 'H100' } }),
    'needs gpu_model=H100; hostb has NVIDIA A100-SXM4-80GB',
  );
  assert.equal(await reasonOf({ labels: { rack: 'r2' } }), 'needs rack=r2; hostb has no rack');
  assert.match(await reasonOf({ reserveHost: true }), /^needs the whole host; hostb owns only part of it/);
  assert.equal(await startsNow(gate, { gpus: 1, labels: { gpu_model: 'a100', host: 'hostb' } }), true);
});

test('a GPU freed by a trial is measured again for trials that wait on figures', async () => {
  const figures = new Figures();
  figures.gpuFree.set(0, 80 * GIB);
  const gate = placer({ gpuCount: 1 }, figures);
  const held: Placement | undefined = await gate.acquire({ gpus: 1 }, never);
  void gate.acquire({ gpus: 1, gpuMemoryMib: 90 * GIB }, never).catch(() => {});
  const waiting = gate.acquire({ gpus: 1, gpuMemoryMib: 40 * GIB }, never);
  await settled();
  held?.release();
  assert.equal(figures.refreshes, 1);
  assert.ok(await waiting);
});

test('task permits: room for what could start, plus one held ready per running trial with prefetch', async () => {
  let used = 0;
  let free = 2;
  const plain = new TaskPermits({ free: () => free, used: () => used }, false);
  assert.ok(plain.tryReserveSlot());
  assert.ok(plain.tryReserveSlot());
  assert.equal(plain.tryReserveSlot(), null);

  const permits = new TaskPermits({ free: () => free, used: () => used }, true);
  for (let i = 0; i < 2; i++) await permits.reserveSlot({}, never);
  let held = 0;
  const holding = [permits.reserveSlot({}, never), permits.reserveSlot({}, never)].map((permit) =>
    permit.then(() => held++),
  );
  await settled();
  assert.equal(held, 0, 'no trial to hold ready while a slot here is free: another worker may be idle');
  used = 2;
  free = 0;
  permits.wake();
  await Promise.all(holding);
  assert.equal(held, 2);
  assert.equal(permits.tryReserveSlot(), null);
  permits.handedBack();
  permits.releaseSlot(); // the handed-back trial's permit
  assert.equal(permits.tryReserveSlot(), null, 'no new poll while the hand-back is withheld');
  let granted = false;
  const next = permits.reserveSlot({}, never).then(() => (granted = true));
  permits.trialEnded();
  await next;
  assert.equal(granted, true, 'a trial ending here lifts the hold');
});

test('a pending permit request is withdrawn with the SDK’s own abort reason', async () => {
  const permits = new TaskPermits({ free: () => 0, used: () => 1 }, false);
  await permits.reserveSlot({}, never);
  const abort = new AbortController();
  const pending = permits.reserveSlot({}, abort.signal);
  const reason = new Error('poller stopped');
  abort.abort(reason);
  await assert.rejects(pending, (error) => error === reason);
});
