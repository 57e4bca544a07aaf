// @run-alone: it measures how many slots each sweep holds over seconds, which another file's load blurs.
// Sharing one pool between owners and priorities on a real server (fairness on, as every Sweep dev server has
// it), with real workers and trial processes: shares are read from the processes' own start and end records.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Client, Connection } from '@temporalio/client';
import { trialWorkflowId } from '../../src/temporal/names.js';
import type { TrialSummary } from '../../src/workflows/types.js';
import { spans, TestCluster, type Span, type TrialRecord } from '../helpers/cluster.js';
import { sharedServerConfig } from '../helpers/temporal.js';

let cluster: TestCluster;

before(async () => {
  cluster = new TestCluster(sharedServerConfig().address);
  await Promise.all([cluster.startWorker('fair-a', 2), cluster.startWorker('fair-b', 2)]);
});

after(() => cluster.stop());

/** One-second trials: four steps of 250 ms. */
const ONE_SECOND_TRIALS = (count: number) => `  x: {range: [0, ${count}]}\n  steps: 4\n  step_ms: 250`;
const SLOTS = 4;

const runningNow = (mine: readonly Span[]) => mine.filter((span) => span.to === Infinity).length;

/**
 * Slots a set of spans held on average over [from, to]: overlap with the window ÷ its length. A process holds
 * its slot from the moment it began, not from its first line of JS (node takes 100–300 ms to get there on a
 * loaded 2-core machine, a quarter of a 1 s trial that is the trial's own, not Sweep's).
 */
function slotsHeld(held: readonly Span[], from: number, to: number): number {
  const busy = held.reduce(
    (total, span) => total + Math.max(0, Math.min(span.to, to) - Math.max(span.launched, from)),
    0,
  );
  return busy / (to - from);
}

async function finish(sweepId: string): Promise<Span[]> {
  const watched = await cluster.sweep(['watch', sweepId, '--no-tty']);
  assert.equal(watched.code, 0, watched.stderr);
  return spans(cluster.records(sweepId));
}

/**
 * A (40 trials, alice) fills every slot; then B (8 trials, bob, at `weight`) starts. Returns the slots each held
 * from B's first trial's start to B's last trial's end, and checks nothing ran twice or was lost. Not from B's
 * start: A's trials hold every slot until they end, a second later, and nothing that never kills a trial could
 * give B a slot before then (counted from B's start, even a perfect scheduler gives weight 3 about 2 slots).
 */
async function shareOfLateSweep(weight: number): Promise<{ a: number; b: number; window: number }> {
  const a = await cluster.start(ONE_SECOND_TRIALS(40), { args: ['--user', 'alice'] });
  await cluster.waitForRecords(() => runningNow(spans(cluster.records(a))) === SLOTS);
  const b = await cluster.start(ONE_SECOND_TRIALS(8), { args: ['--user', 'bob', '--weight', String(weight)] });
  const bSpans = await finish(b);
  const aSpans = await finish(a);
  assert.equal(bSpans.length, 8, 'each of B’s trials ran once');
  assert.equal(aSpans.length, 40, 'each of A’s trials ran once');
  const from = Math.min(...bSpans.map((span) => span.launched));
  const to = Math.max(...bSpans.map((span) => span.to));
  // First in, first out, B would wait behind all of A and, once it ran, hold every slot.
  const aLastStart = Math.max(...aSpans.map((span) => span.from));
  assert.ok(to < aLastStart, `B finished (${to}) while A still had trials to start (last at ${aLastStart})`);
  return { a: slotsHeld(aSpans, from, to), b: slotsHeld(bSpans, from, to), window: to - from };
}

test('a later sweep of another owner gets its fair share of the slots, not the leftovers of the first', async (t) => {
  const equal = await shareOfLateSweep(1);
  t.diagnostic(`equal weights: ${JSON.stringify(equal)}`);
  assert.ok(equal.b >= 1 && equal.b <= 3, `equal weights: B held ${equal.b.toFixed(2)} of 4 slots (2 ± 1)`);
  assert.ok(equal.a >= 1, `A kept its share meanwhile: ${equal.a.toFixed(2)}`);

  const weighted = await shareOfLateSweep(3);
  t.diagnostic(`B at weight 3: ${JSON.stringify(weighted)}`);
  assert.ok(weighted.b >= 2 && weighted.b <= 4, `weight 3: B held ${weighted.b.toFixed(2)} of 4 slots (3 ± 1)`);
  assert.ok(weighted.b > equal.b, `weight 3 holds more than weight 1: ${weighted.b} vs ${equal.b}`);
});

test('a priority-1 sweep started last takes the next free slots', async () => {
  const routine = await cluster.start(ONE_SECOND_TRIALS(24), { args: ['--user', 'alice'] });
  await cluster.waitForRecords(() => runningNow(spans(cluster.records(routine))) === SLOTS);
  const urgent = await cluster.start(ONE_SECOND_TRIALS(4), { args: ['--user', 'carol', '--priority', '1'] });
  const urgentSpans = await finish(urgent);
  const routineSpans = await finish(routine);
  assert.equal(urgentSpans.length, 4);
  assert.equal(routineSpans.length, 24);
  const firstUrgentStart = Math.min(...urgentSpans.map((span) => span.from));
  const lastUrgentStart = Math.max(...urgentSpans.map((span) => span.from));
  // Once the first urgent trial runs, the next free slots are the urgent sweep's. A worker holds one trial
  // ready behind each running one (prefetch), dispatched before: those may start first, one per slot.
  const overtaking = routineSpans.filter((span) => span.from > firstUrgentStart && span.from < lastUrgentStart);
  assert.ok(
    overtaking.length <= SLOTS,
    `${overtaking.length} routine trials started between the urgent sweep's first trial and its last`,
  );
  // First in, first out, the urgent sweep would wait behind every routine trial.
  const lastRoutineStart = Math.max(...routineSpans.map((span) => span.from));
  assert.ok(lastUrgentStart < lastRoutineStart, 'the urgent trials ran while routine ones still waited');
  const status = await cluster.sweep(['status', urgent]);
  assert.match(status.stdout, /owner carol · priority 1 · weight 1/);
});

test('status --by-owner adds up running trials, GPUs and queued trials per owner; list shows whose', async () => {
  // Long enough trials for visibility, a moment behind each start, to count them while they run.
  const longTrials = (count: number) => `  x: {range: [0, ${count}]}\n  steps: 60\n  step_ms: 250`;
  const mine = await cluster.start(longTrials(20), { args: ['--user', 'dana'] });
  const theirs = await cluster.start(longTrials(8), { args: ['--user', 'erin', '--weight', '2'] });
  type Usage = { owner: string; sweeps: number; running: number; gpus: number; queued: number; weights: number[] };
  // Running trials are counted from visibility, which learns of a start a moment after it: poll until both show.
  let owners: Usage[] = [];
  for (let deadline = Date.now() + 60_000; ;) {
    const usage = await cluster.sweep(['status', '--by-owner', '--json']);
    assert.equal(usage.code, 0, usage.stderr);
    owners = JSON.parse(usage.stdout) as Usage[];
    if (['dana', 'erin'].every((name) => owners.some((owner) => owner.owner === name && owner.running > 0))) break;
    assert.ok(Date.now() < deadline, `both owners never showed running trials: ${usage.stdout}`);
  }
  const dana = owners.find((owner) => owner.owner === 'dana');
  const erin = owners.find((owner) => owner.owner === 'erin');
  assert.ok(dana && erin);
  assert.deepEqual([dana.sweeps, erin.sweeps, erin.weights], [1, 1, [2]]);
  assert.ok(dana.running + erin.running <= SLOTS, JSON.stringify(owners));
  // One slot per trial that asks for no GPUs in particular.
  assert.equal(dana.gpus, dana.running);
  // Every trial not finished is running or queued (a first one may have ended by now).
  assert.ok(dana.running + dana.queued <= 20 && dana.running + dana.queued >= 20 - SLOTS, JSON.stringify(dana));
  assert.ok(erin.running + erin.queued <= 8 && erin.running + erin.queued >= 8 - SLOTS, JSON.stringify(erin));
  const table = await cluster.sweep(['status', '--by-owner']);
  assert.match(table.stdout, /^owner\s+sweeps\s+running\s+GPUs\s+queued\s+priority\s+weight/m);
  assert.match(table.stdout, /^erin\s+1\s+\d+\s+\d+\s+\d+\s+3\s+2\s*$/m);

  const danas = await cluster.sweep(['list', '--user', 'dana', '--json']);
  const listed = JSON.parse(danas.stdout) as { sweepId: string; owner?: string }[];
  assert.ok(listed.some((row) => row.sweepId === mine));
  assert.ok(
    listed.every((row) => row.owner === 'dana' || row.owner === undefined),
    danas.stdout,
  );
  const everyone = JSON.parse((await cluster.sweep(['list', '--all-users', '--json', '--limit', '100'])).stdout) as {
    sweepId: string;
  }[];
  assert.ok(everyone.some((row) => row.sweepId === mine) && everyone.some((row) => row.sweepId === theirs));
  assert.equal((await cluster.sweep(['cancel', mine])).code, 0);
  assert.equal((await cluster.sweep(['cancel', theirs])).code, 0);
});

test('a trial whose worker died goes before the fresh trials queued ahead of it', async (t) => {
  // 24 one-second trials on both workers; fair-a is SIGKILLed and stays dead, so fair-b's two slots serve a backlog
  // of fresh trials when the lost ones come back (after the 5 s heartbeat timeout).
  const sweepId = await cluster.start(ONE_SECOND_TRIALS(24), { args: ['--user', 'frank', '--heartbeat-timeout', '5'] });
  const onA = (records: readonly TrialRecord[]) =>
    spans(records.filter((record) => record.sweep === sweepId && record.worker === 'fair-a')).filter(
      (span) => span.to === Infinity,
    );
  const running = await cluster.waitForRecords((records) => onA(records).length === 2);
  const lost = onA(running).map((span) => span.trial);
  const worker = cluster.workers.get('fair-a');
  assert.ok(worker);
  await worker.signal('SIGKILL');
  cluster.workers.delete('fair-a');
  await finish(sweepId);

  const starts = cluster.records(sweepId).filter((record) => record.event === 'start');
  const retries = starts.filter((record) => lost.includes(record.trial) && record.attempt > 1);
  assert.deepEqual(retries.map((record) => record.trial).sort(), [...lost].sort(), 'each lost trial ran again once');
  // When the trials learnt their attempts were lost, and scheduled the retries.
  const connection = await Connection.connect({ address: cluster.address });
  const client = new Client({ connection });
  const summaries = await Promise.all(
    lost.map((trial) => client.workflow.getHandle(trialWorkflowId(sweepId, trial)).result() as Promise<TrialSummary>),
  );
  await connection.close();
  const queuedAt = Math.max(...summaries.map((summary) => summary.attempts[0]?.endedAt ?? Infinity));
  const lastRetryStart = Math.max(...retries.map((record) => record.time));
  const freshMeanwhile = starts.filter(
    (record) => record.attempt === 1 && record.time > queuedAt && record.time < lastRetryStart,
  );
  // First in, first out, every fresh trial still queued would go first. With retries first, only the trial
  // fair-b holds ready behind each of its running ones (dispatched before the retries existed) may.
  assert.ok(
    freshMeanwhile.length <= 2,
    `${freshMeanwhile.length} fresh trials started between the retries' queueing and their start: ${JSON.stringify(freshMeanwhile.map((r) => r.trial))}`,
  );
  const freshAfter = starts.filter((record) => record.attempt === 1 && record.time > lastRetryStart);
  t.diagnostic(`retries ran after ${freshMeanwhile.length} fresh trials and before ${freshAfter.length}`);
  assert.ok(freshAfter.length >= 2, `fresh trials were still waiting when the retries ran: ${freshAfter.length}`);
});
