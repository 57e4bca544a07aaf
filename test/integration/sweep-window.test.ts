// The sweep workflow's window and the state it carries across continue-as-new, on the real workflow code with
// `runTrial` mocked.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startSweep } from '../../src/cli/sweep-client.js';
import { UPDATE_VERSION_MEMO } from '../../src/temporal/names.js';
import { attemptFailure } from '../../src/workflows/attempt-failures.js';
import { broadcastUpdate, sweepProgressQuery, updatesSinceQuery } from '../../src/workflows/messages.js';
import type { SweepResult, sweepWorkflow } from '../../src/workflows/sweep-workflow.js';
import type { RunTrialInput } from '../../src/workflows/types.js';
import { blockUntil, eventually, Gate, MockTrialWorkers, mockSpec, resultOf } from '../helpers/mock-trial-worker.js';
import { uniqueName } from '../helpers/temporal.js';

let workers: MockTrialWorkers;
before(async () => {
  workers = await MockTrialWorkers.start();
});
after(() => workers.stop());

/** Trials that block until the test releases them, in the order they started; counts how many run at once. */
class HeldTrials {
  readonly started: { readonly input: RunTrialInput; readonly gate: Gate }[] = [];
  released = 0;
  inFlight = 0;
  mostInFlight = 0;

  async run(input: RunTrialInput) {
    const gate = new Gate();
    this.started.push({ input, gate });
    this.mostInFlight = Math.max(this.mostInFlight, ++this.inFlight);
    try {
      await blockUntil(gate.opened);
    } finally {
      this.inFlight--;
    }
    return resultOf({ metrics: { loss: input.plan.index }, best: input.plan.index });
  }

  /** The indices of the trials that started, in index order (one window's trials start in any order). */
  indices(): number[] {
    return this.started.map(({ input }) => input.plan.index).sort((a, b) => a - b);
  }

  /** Waits until `count` trials have started. */
  async untilStarted(count: number): Promise<void> {
    await eventually(`${count} trials started`, () => this.started.length >= count || undefined);
  }

  releaseNext(): void {
    const next = this.started[this.released++];
    assert.ok(next, 'a trial to release has started');
    next.gate.open();
  }
}

const sweepHandle = (sweepId: string) => workers.client.workflow.getHandle<typeof sweepWorkflow>(sweepId);

test('a sweep keeps at most `window` trials in flight', async () => {
  const name = uniqueName('window');
  const held = new HeldTrials();
  workers.script(name, (input) => held.run(input));
  const spec = mockSpec(name, 'metric: {name: loss, goal: minimize}', '  i: { range: [0, 6] }');
  const sweepId = await startSweep(workers.client, spec, workers.options({ window: 2 }));

  for (let released = 0; released < 6; released++) {
    await held.untilStarted(Math.min(6, released + 2));
    held.releaseNext();
  }
  const result: SweepResult = await sweepHandle(sweepId).result();

  assert.equal(held.mostInFlight, 2);
  assert.deepEqual(held.indices(), [0, 1, 2, 3, 4, 5]);
  assert.deepEqual(result, {
    sweepId,
    state: 'completed',
    counts: { total: 6, succeeded: 6, failed: 0, cancelled: 0 },
    best: { index: 0, value: 0 },
  });
});

test('a sweep that continues as new runs every trial once, with the right counts and best', async () => {
  const name = uniqueName('can');
  let inFlight = 0;
  let mostInFlight = 0;
  const calls = workers.script(name, async (input) => {
    mostInFlight = Math.max(mostInFlight, ++inFlight);
    // Yields, so the trials of one window overlap.
    await new Promise((resolve) => setTimeout(resolve, 20));
    inFlight--;
    if (input.plan.index === 3) {
      throw attemptFailure.commandFailed('exit 1 on w1: boom', {
        exitCode: 1,
        signal: null,
        stderrTail: '',
        cause: '',
      });
    }
    const loss = Math.abs(input.plan.index - 6) + 0.5;
    return resultOf({ metrics: { loss }, best: loss });
  });
  const spec = mockSpec(name, 'retries: 0\nmetric: {name: loss, goal: minimize}', '  i: { range: [0, 10] }');
  // A tiny threshold: a window of 2 trials and about 10 history events per finished trial.
  const sweepId = await startSweep(workers.client, spec, workers.options({ window: 2, continueAsNewAfterEvents: 40 }));
  const handle = sweepHandle(sweepId);
  const result = await handle.result();

  assert.deepEqual(result, {
    sweepId,
    state: 'failed',
    counts: { total: 10, succeeded: 9, failed: 1, cancelled: 0 },
    best: { index: 6, value: 0.5 },
  });
  assert.deepEqual(
    calls.map(({ input }) => input.plan.index).sort((a, b) => a - b),
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
    'every trial ran exactly once',
  );
  assert.ok(mostInFlight <= 2, `${mostInFlight} trials ran at once`);
  const progress = await handle.query(sweepProgressQuery);
  assert.ok(progress.runs > 1, `${progress.runs} run(s)`);
  assert.equal(progress.state, 'failed');
  assert.deepEqual(progress.running, []);
  const description = await handle.describe();
  const firstRunId = description.raw.workflowExecutionInfo?.firstRunId;
  assert.ok(firstRunId && firstRunId !== description.runId, 'the last run is not the first');
  assert.equal(
    (await workers.client.workflow.getHandle(sweepId, firstRunId).describe()).status.name,
    'CONTINUED_AS_NEW',
  );
});

test('cache updates recorded before continue-as-new are still served after it', async () => {
  const name = uniqueName('can-updates');
  const held = new HeldTrials();
  workers.script(name, (input) => held.run(input));
  const spec = mockSpec(name, '', '  i: { range: [0, 8] }');
  const sweepId = await startSweep(workers.client, spec, workers.options({ window: 2, continueAsNewAfterEvents: 40 }));
  const handle = sweepHandle(sweepId);
  await held.untilStarted(2);

  assert.equal(await handle.executeUpdate(broadcastUpdate, { args: [{ lr: 0.1 }] }), 1);
  assert.equal(await handle.executeUpdate(broadcastUpdate, { args: [{ lr: 0.2, note: 'warmup done' }] }), 2);
  const before = await handle.query(sweepProgressQuery);
  assert.equal(before.runs, 1);
  const firstRunId = (await handle.describe()).runId;

  // Trials finish one at a time until the sweep has continued as new.
  await eventually('a second run', async () => {
    if ((await handle.query(sweepProgressQuery)).runs > 1) return true;
    if (held.released < held.started.length) {
      held.releaseNext();
      await held.untilStarted(Math.min(8, held.released + 2));
    }
    return undefined;
  });
  const description = await handle.describe();
  assert.notEqual(description.runId, firstRunId);
  // Workers read the latest version from the memo before they query: the new run publishes it too.
  assert.equal(description.memo?.[UPDATE_VERSION_MEMO], 2);

  const updates = await handle.query(updatesSinceQuery, 0);
  assert.deepEqual(
    updates.map(({ version, data }) => ({ version, data })),
    [
      { version: 1, data: { lr: 0.1 } },
      { version: 2, data: { lr: 0.2, note: 'warmup done' } },
    ],
  );
  assert.deepEqual(await handle.query(updatesSinceQuery, 1), updates.slice(1));
  assert.equal(await handle.executeUpdate(broadcastUpdate, { args: [{ lr: 0.3 }] }), 3);
  const progress = await handle.query(sweepProgressQuery);
  assert.equal(progress.startedAt, before.startedAt);
  assert.equal(progress.updateVersion, 3);

  while (held.released < 8) {
    await held.untilStarted(Math.min(8, held.released + 1));
    held.releaseNext();
  }
  const result = await handle.result();
  assert.equal(result.state, 'completed');
  assert.deepEqual(result.counts, { total: 8, succeeded: 8, failed: 0, cancelled: 0 });
  assert.equal(held.mostInFlight, 2);
  assert.deepEqual(held.indices(), [0, 1, 2, 3, 4, 5, 6, 7], 'every trial ran exactly once');
});
