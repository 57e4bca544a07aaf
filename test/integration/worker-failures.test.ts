import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import type { TrialSummary } from '../../src/workflows/types.js';
import { overlappingAttempts, processAlive, TestCluster } from '../helpers/cluster.js';
import { sharedServerClient, sharedServerConfig } from '../helpers/temporal.js';
import { FAILURE_TYPES } from '../../src/workflows/attempt-failures.js';
import { trialWorkflowId } from '../../src/temporal/names.js';

const clusters: TestCluster[] = [];
function cluster(): TestCluster {
  const created = new TestCluster(sharedServerConfig().address);
  clusters.push(created);
  return created;
}
after(() => Promise.all(clusters.map((each) => each.stop())));

async function results(owner: TestCluster, sweepId: string): Promise<TrialSummary[]> {
  const output = await owner.sweep(['results', sweepId, '--format', 'json']);
  assert.equal(output.code, 0, output.stderr);
  return output.stdout
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as TrialSummary);
}

test('a SIGKILLed worker: its trial dies with it, moves to another worker, resumes from its checkpoint, never overlaps', async () => {
  const owner = cluster();
  const w1 = await owner.startWorker('w1');
  await owner.startWorker('w2');
  const sweepId = await owner.start('  x: [1, 2]\n  steps: 30\n  step_ms: 100', { args: ['--heartbeat-timeout', '4'] });

  // Kill w1 once its trial has checkpointed a few steps.
  const started = await owner.waitForRecords((records) =>
    records.some((r) => r.event === 'start' && r.worker === 'w1'),
  );
  const victim = started.find((r) => r.event === 'start' && r.worker === 'w1');
  assert.ok(victim);
  await delay(800);
  const killedAt = Date.now();
  assert.equal((await w1.signal('SIGKILL')).signal, 'SIGKILL');
  const deadline = Date.now() + 1000;
  while (processAlive(victim.pid) && Date.now() < deadline) await delay(20);
  assert.equal(processAlive(victim.pid), false, 'the trial process died within a second of its worker');

  const watched = await owner.sweep(['watch', sweepId]);
  assert.equal(watched.code, 0, watched.stderr);
  const records = owner.records(sweepId);
  const retried = records.filter((r) => r.event === 'start' && r.trial === victim.trial);
  assert.equal(retried.length, 2, JSON.stringify(records));
  const second = retried[1];
  assert.equal(second?.worker, 'w2');
  assert.ok((second?.from ?? 0) >= 3, `the second attempt resumed from its checkpoint (step ${second?.from})`);
  assert.deepEqual(overlappingAttempts(records, killedAt), []);
  const rescheduleMs = (second?.time ?? 0) - killedAt;
  process.stderr.write(`# reschedule after SIGKILL: ${rescheduleMs} ms (heartbeat timeout 4 s)\n`);
  assert.ok(
    rescheduleMs < 4000 + 8000,
    `rescheduled within the heartbeat timeout plus a few seconds (${rescheduleMs} ms)`,
  );

  const rows = await results(owner, sweepId);
  const moved = rows.find((row) => row.index === victim.trial);
  assert.deepEqual(
    moved?.attempts.map((a) => a.outcome),
    ['lost', 'succeeded'],
  );
  assert.ok(rows.every((row) => row.state === 'succeeded'));
});

test('a worker started mid-sweep gets trials; one stopped with SIGTERM hands its trial back at once', async () => {
  const owner = cluster();
  await owner.startWorker('first');
  const sweepId = await owner.start('  x: [1, 2, 3, 4]\n  steps: 20\n  step_ms: 100', {
    args: ['--heartbeat-timeout', '30'],
  });
  await owner.waitForRecords((records) => records.some((r) => r.event === 'start'));
  const late = await owner.startWorker('late');
  const onLate = await owner.waitForRecords(
    (records) => records.some((r) => r.event === 'start' && r.worker === 'late'),
    20_000,
  );
  const handed = onLate.find((r) => r.event === 'start' && r.worker === 'late');
  assert.ok(handed);

  await delay(500);
  const stoppedAt = Date.now();
  const exit = await late.signal('SIGTERM');
  assert.equal(exit.code, 0, 'the worker shut down cleanly');
  const again = await owner.waitForRecords(
    (records) => records.some((r) => r.event === 'start' && r.trial === handed.trial && r.attempt === 2),
    20_000,
  );
  const next = again.find((r) => r.event === 'start' && r.trial === handed.trial && r.attempt === 2);
  const handoffMs = (next?.time ?? 0) - stoppedAt;
  process.stderr.write(`# hand-back after SIGTERM: ${handoffMs} ms (heartbeat timeout 30 s)\n`);
  // Far below the 30 s heartbeat timeout: the trial was handed back, not timed out. Its slot frees when the
  // current trial on `first` ends (2 s), so allow for that.
  assert.ok(handoffMs < 10_000, `handed back at once (${handoffMs} ms)`);
  assert.ok(
    again.some((r) => r.event === 'sigterm' && r.pid === handed.pid),
    'the trial got SIGTERM first',
  );

  assert.equal((await owner.sweep(['watch', sweepId])).code, 0);
  const rows = await results(owner, sweepId);
  const row = rows.find((r) => r.index === handed.trial);
  assert.equal(row?.attempts[0]?.outcome, 'lost');
  assert.match(row?.attempts[0]?.reason ?? '', /worker late is shutting down/);
  assert.deepEqual(overlappingAttempts(owner.records(sweepId)), []);
});

test('two sweeps at once on 2 workers never run more than one trial per worker', async () => {
  const owner = cluster();
  await Promise.all([owner.startWorker('a'), owner.startWorker('b')]);
  const [first, second] = await Promise.all([
    owner.start('  x: [1, 2, 3, 4]\n  steps: 4\n  step_ms: 100'),
    owner.start('  x: [5, 6, 7, 8]\n  steps: 4\n  step_ms: 100'),
  ]);
  const [one, two] = await Promise.all([owner.sweep(['watch', first]), owner.sweep(['watch', second])]);
  assert.equal(one.code, 0, one.stderr);
  assert.equal(two.code, 0, two.stderr);
  const records = owner.records();
  assert.equal(records.filter((r) => r.event === 'start').length, 8);
  for (const worker of ['a', 'b']) {
    const events = records
      .filter((r) => r.worker === worker)
      .flatMap((r) =>
        r.event === 'start' ? [{ time: r.time, delta: 1 }] : r.event === 'end' ? [{ time: r.time, delta: -1 }] : [],
      )
      .sort((x, y) => x.time - y.time || x.delta - y.delta);
    let running = 0;
    for (const event of events) {
      running += event.delta;
      assert.ok(running <= 1, `worker ${worker} ran ${running} trials at once`);
    }
  }
  const sweeps = new Set(records.map((r) => r.sweep));
  assert.equal(sweeps.size, 2);
});

test('sweep cancel stops the running trial processes and leaves no orphan', async () => {
  const owner = cluster();
  await Promise.all([owner.startWorker('c1'), owner.startWorker('c2')]);
  const sweepId = await owner.start('  x: [1, 2, 3, 4]\n  steps: 600\n  step_ms: 100');
  const records = await owner.waitForRecords((all) => all.filter((r) => r.event === 'start').length === 2);
  const pids = records.filter((r) => r.event === 'start').map((r) => r.pid);
  assert.ok(pids.every(processAlive));
  // Status follows heartbeats, which start within a trial's first second (a trial held ready behind a running
  // one counts as running until its first heartbeat says it waits).
  const heartbeating = /^ +\d+ +t00\d_x=\d +running +1 +c[12] +\d+\.\ds +\d+\.\ds/m;
  let status = await owner.sweep(['status', sweepId]);
  const settled = (text: string) => /2 running, 2 waiting/.test(text) && heartbeating.test(text);
  for (let tries = 0; tries < 50 && !settled(status.stdout); tries++) {
    status = await owner.sweep(['status', sweepId]);
  }
  assert.match(status.stdout, /4 trials: 0 succeeded, 0 failed, 0 cancelled, 2 running, 2 waiting/);
  assert.match(status.stdout, heartbeating);
  assert.match(status.stdout, /^ +\d+ +t00\d_x=\d +queued +1/m);
  const midway = await owner.sweep(['results', sweepId, '--format', 'json']);
  const states = midway.stdout
    .trim()
    .split('\n')
    .map((line) => (JSON.parse(line) as TrialSummary).state);
  assert.deepEqual(states.sort(), ['queued', 'queued', 'running', 'running']);
  const cancelled = await owner.sweep(['cancel', sweepId]);
  assert.equal(cancelled.code, 0, cancelled.stderr);
  assert.match(cancelled.stderr, /cancelled: 0 succeeded, 0 failed, 4 cancelled of 4/);
  assert.deepEqual(pids.filter(processAlive), [], 'no trial process survives the cancel');
  const rows = await results(owner, sweepId);
  assert.deepEqual(
    rows.map((row) => row.state),
    ['cancelled', 'cancelled', 'cancelled', 'cancelled'],
  );
});

test('a trial held ready behind a long one goes back to the pool and runs on a worker that frees first', async () => {
  const owner = cluster();
  await owner.startWorker('busy');
  // Two long trials on one slot: one runs on `busy`, the other is held ready behind it.
  const sweepId = await owner.start('  x: [1, 2]\n  steps: 300\n  step_ms: 100');
  const started = await owner.waitForRecords((records) => records.some((r) => r.event === 'start'));
  const running = started.find((r) => r.event === 'start');
  assert.ok(running);
  const heldIndex = running.trial === 0 ? 1 : 0;
  const client = await sharedServerClient();
  const heldTrial = client.workflow.getHandle(trialWorkflowId(sweepId, heldIndex));
  const waitingOnBusy = async () => {
    const pending = (await heldTrial.describe()).raw.pendingActivities?.[0];
    return pending?.lastWorkerIdentity?.startsWith('busy#') === true;
  };
  while (!(await waitingOnBusy())) await delay(100);

  await owner.startWorker('free');
  const moved = await owner.waitForRecords(
    (records) => records.some((r) => r.event === 'start' && r.worker === 'free'),
    30_000,
  );
  const second = moved.find((r) => r.event === 'start' && r.worker === 'free');
  assert.equal(second?.trial, heldIndex);
  assert.equal(second?.attempt, 1, 'going back to the pool is not an attempt');
  assert.ok(!moved.some((r) => r.event === 'end'), 'it moved while the long trial still ran');
  const history = await heldTrial.fetchHistory();
  const handedBack = (history.events ?? []).filter(
    (event) =>
      event.activityTaskFailedEventAttributes?.failure?.applicationFailureInfo?.type === FAILURE_TYPES.handedBack,
  );
  assert.equal(handedBack.length, 1, 'it was handed back once, by busy');
  assert.equal((await owner.sweep(['cancel', sweepId])).code, 0);
});
