import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SlotGate } from '../../../src/activities/slot-gate.js';
import { TaskPermits } from '../../../src/workers/task-permits.js';

/** Whether a trial asking now would wait (a trial that would not takes the slot and gives it back). */
async function full(gate: SlotGate): Promise<boolean> {
  const release = await gate.acquire(AbortSignal.abort());
  release?.();
  return release === undefined;
}

test('a slot gate never lets more trials in than it has slots, and hands a freed slot to the oldest waiter', async () => {
  let freed = 0;
  const gate = new SlotGate(2, { slotTaken: () => {}, slotFreed: () => freed++ });
  const never = new AbortController().signal;
  const first = await gate.acquire(never);
  const second = await gate.acquire(never);
  assert.ok(first && second);
  assert.equal(await full(gate), true);
  const order: string[] = [];
  const third = gate.acquire(never).then((release) => (order.push('third'), release));
  const fourth = gate.acquire(never).then((release) => (order.push('fourth'), release));
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(order, []);
  first();
  first(); // a second release of the same slot is ignored
  assert.equal(freed, 1, 'each slot given back is reported once');
  const thirdRelease = await third;
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(order, ['third']);
  second();
  const fourthRelease = await fourth;
  assert.deepEqual(order, ['third', 'fourth']);
  thirdRelease?.();
  fourthRelease?.();
  assert.equal(await full(gate), false);
});

test('a trial waiting for a slot gives up when its signal fires, and leaves the queue', async () => {
  const gate = new SlotGate(1);
  const release = await gate.acquire(new AbortController().signal);
  const abort = new AbortController();
  const waiting = gate.acquire(abort.signal);
  abort.abort('patience');
  assert.equal(await waiting, undefined);
  release?.();
  assert.equal(await full(gate), false, 'the abandoned waiter did not take the slot');
});

test('patience starts at 5 s, then follows twice the median runtime within 1 s and 30 s', async () => {
  const gate = new SlotGate(1);
  assert.equal(gate.patienceMs(), 5000);
  const release = await gate.acquire(new AbortController().signal);
  release?.();
  assert.equal(gate.patienceMs(), 1000, 'a near-instant trial sets the floor');
});

test('task permits: two per slot with prefetch once every slot runs, one per slot without, one fewer after each hand-back', async () => {
  const never = new AbortController().signal;
  const plain = new TaskPermits(2, false, () => true);
  assert.ok(plain.tryReserveSlot());
  assert.ok(plain.tryReserveSlot());
  assert.equal(plain.tryReserveSlot(), null);

  let full = false;
  const permits = new TaskPermits(2, true, () => full);
  for (let i = 0; i < 2; i++) await permits.reserveSlot({}, never);
  let held = 0;
  const holding = [permits.reserveSlot({}, never), permits.reserveSlot({}, never)].map((permit) =>
    permit.then(() => held++),
  );
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(held, 0, 'no trial to hold ready while a slot here is free: another worker may be idle');
  full = true;
  permits.slotTaken();
  await Promise.all(holding);
  assert.equal(held, 2);
  assert.equal(permits.tryReserveSlot(), null);
  permits.handedBack();
  permits.releaseSlot(); // the handed-back trial's permit
  assert.equal(permits.tryReserveSlot(), null, 'no new poll while the hand-back is withheld');
  let granted = false;
  const next = permits.reserveSlot({}, never).then(() => (granted = true));
  permits.slotFreed();
  await next;
  assert.equal(granted, true, 'a trial ending here lifts the hold');
});

test('a pending permit request is withdrawn with the SDK’s own abort reason', async () => {
  const permits = new TaskPermits(1, false, () => true);
  await permits.reserveSlot({}, new AbortController().signal);
  const abort = new AbortController();
  const pending = permits.reserveSlot({}, abort.signal);
  const reason = new Error('poller stopped');
  abort.abort(reason);
  await assert.rejects(pending, (error) => error === reason);
});
