// The trial workflow's decisions, on the real workflow code with `runTrial` mocked: what each kind of attempt
// failure leads to (lost, failed, timed out, handed back), and what the trial records.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Context } from '@temporalio/activity';
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { SweepSpec } from '../../src/sweep-spec/spec-types.js';
import { trialWorkflowId } from '../../src/temporal/names.js';
import { gpuQueueKey, sweepIdKey, trialIndexKey, trialStateKey } from '../../src/temporal/search-attributes.js';
import { attemptFailure, FAILURE_TYPES } from '../../src/workflows/attempt-failures.js';
import { attemptStartedSignal, trialStatusQuery } from '../../src/workflows/messages.js';
import { planTrial } from '../../src/workflows/trial-plan.js';
import type { trialWorkflow } from '../../src/workflows/trial-workflow.js';
import type { SweepOptions, TrialProgress, TrialSummary } from '../../src/workflows/types.js';
import {
  blockUntil,
  eventually,
  Gate,
  MockTrialWorkers,
  mockSpec,
  resultOf,
  type MockCall,
} from '../helpers/mock-trial-worker.js';
import { uniqueName } from '../helpers/temporal.js';

let workers: MockTrialWorkers;
before(async () => {
  workers = await MockTrialWorkers.start();
});
after(() => workers.stop());

/** Starts trial `index` as its sweep would (the sweep itself does not exist: the trial's final signal fails). */
async function startTrial(
  spec: SweepSpec,
  options: SweepOptions,
  index = 0,
): Promise<WorkflowHandle<typeof trialWorkflow>> {
  const sweepId = `${spec.name}-no-sweep`;
  return workers.client.workflow.start<typeof trialWorkflow>('trialWorkflow', {
    args: [{ plan: planTrial(spec, index, sweepId, options) }],
    workflowId: trialWorkflowId(sweepId, index),
    taskQueue: options.controlQueue,
    typedSearchAttributes: [
      { key: sweepIdKey, value: sweepId },
      { key: trialIndexKey, value: index },
      { key: trialStateKey, value: 'queued' },
    ],
  });
}

/** The trial's workflow ends failed (TrialFailed with `message`); returns the summary in its memo. */
async function failedTrial(handle: WorkflowHandle<typeof trialWorkflow>, message: string): Promise<TrialSummary> {
  await assert.rejects(handle.result(), (error: unknown) => {
    assert.ok(error instanceof WorkflowFailedError, String(error));
    assert.ok(error.cause instanceof ApplicationFailure, String(error.cause));
    assert.equal(error.cause.type, 'TrialFailed');
    assert.equal(error.cause.message, message);
    return true;
  });
  const summary = await memoSummary(handle);
  assert.equal(summary.state, 'failed');
  assert.equal(summary.error, message);
  return summary;
}

async function memoSummary(handle: WorkflowHandle<typeof trialWorkflow>): Promise<TrialSummary> {
  const summary = (await handle.describe()).memo?.summary as TrialSummary | undefined;
  assert.ok(summary, 'the trial has a summary in its memo');
  return summary;
}

/** `exit N` as the real activity reports it. */
function exitFailure(exitCode: number): ApplicationFailure {
  return attemptFailure.commandFailed(`exit ${exitCode} on w1: boom`, {
    exitCode,
    signal: null,
    stderrTail: 'Traceback\nboom',
    cause: 'boom',
  });
}

const progressAt = (step: number): TrialProgress => ({
  step,
  metrics: { loss: 1 / step },
  worker: 'w1',
  startedAt: 1_000 + step,
  attempt: 1,
});

/** The gaps between one call's end and the next call's start, in ms. */
function gaps(calls: readonly MockCall[]): number[] {
  return calls.slice(1).map((call, i) => call.startedAt - (calls[i]?.endedAt ?? Infinity));
}

test('a success records the metrics, the worker and the attempt with its start and end', async () => {
  const name = uniqueName('ok');
  const calls = workers.script(name, () =>
    resultOf({
      metrics: { loss: 0.25 },
      best: 0.25,
      bestStep: 7,
      runtimeMs: 1234,
      worker: 'w7',
      startedAt: 5_000,
      endedAt: 6_234,
    }),
  );
  const handle = await startTrial(mockSpec(name, 'metric: {name: loss, goal: minimize}'), workers.options());
  const summary = await handle.result();

  assert.equal(calls.length, 1);
  const input = calls[0]?.input;
  assert.deepEqual(
    [input?.plan.index, input?.attempt, input?.plan.policy.heartbeatTimeoutSeconds, input?.resume, input?.adoptable],
    [0, 1, 30, undefined, undefined],
  );
  assert.equal(input?.plan.directorySweepId, input?.plan.sweepId);
  assert.equal(summary.state, 'succeeded');
  assert.deepEqual(summary.metrics, { loss: 0.25 });
  assert.equal(summary.best, 0.25);
  assert.equal(summary.bestStep, 7);
  assert.equal(summary.exitCode, 0);
  assert.equal(summary.runtimeMs, 1234);
  assert.equal(summary.worker, 'w7');
  assert.equal(summary.attempts.length, 1);
  const [attempt] = summary.attempts;
  assert.equal(typeof attempt?.endedAt, 'number');
  assert.deepEqual(attempt, {
    attempt: 1,
    outcome: 'succeeded',
    worker: 'w7',
    exitCode: 0,
    startedAt: 5_000,
    // When its process exited (the worker's clock), beside when the trial learnt of it (workflow time).
    exitedAt: 6_234,
    endedAt: attempt?.endedAt,
  });
  assert.deepEqual(await memoSummary(handle), summary);
  const description = await handle.describe();
  assert.equal(description.status.name, 'COMPLETED');
  assert.equal(description.typedSearchAttributes.get(trialStateKey), 'succeeded');
});

test('attemptStarted sets TrialState=running and GpuQueue while the attempt runs; a stale one is ignored', async () => {
  const name = uniqueName('started');
  const release = new Gate();
  const calls = workers.script(name, async (input) => {
    const execution = Context.current().info.workflowExecution;
    assert.ok(execution, 'the activity belongs to a workflow');
    await workers.client.workflow
      .getHandle(execution.workflowId, execution.runId)
      .signal(attemptStartedSignal, { attempt: input.attempt, worker: 'hostB-gpu1', startedAt: Date.now() });
    await blockUntil(release.opened);
    return resultOf({ worker: 'hostB-gpu1' });
  });
  const handle = await startTrial(mockSpec(name, ''), workers.options());

  const running = await eventually('TrialState=running', async () => {
    const attributes = (await handle.describe()).typedSearchAttributes;
    return attributes.get(trialStateKey) === 'running' ? attributes : undefined;
  });
  assert.equal(running.get(gpuQueueKey), 'hostB-gpu1');

  // From an attempt that is not the current one (a late signal): it changes nothing.
  await handle.signal(attemptStartedSignal, { attempt: 2, worker: 'stale-gpu9', startedAt: Date.now() });
  assert.equal((await handle.query(trialStatusQuery)).attempt, 1);
  assert.equal((await handle.describe()).typedSearchAttributes.get(gpuQueueKey), 'hostB-gpu1');

  release.open();
  assert.equal((await handle.result()).state, 'succeeded');
  assert.equal(calls.length, 1);
  const attributes = (await handle.describe()).typedSearchAttributes;
  assert.equal(attributes.get(trialStateKey), 'succeeded');
  assert.equal(attributes.get(gpuQueueKey), 'hostB-gpu1');
});

test('lost workers are retried at once from their last progress, not as retries, until maxLostAttempts', async () => {
  const name = uniqueName('lost');
  const calls = workers.script(name, (_input, call) => {
    if (call === 1) throw attemptFailure.lost(FAILURE_TYPES.workerShutdown, 'worker w1 stopped', progressAt(1));
    if (call === 2) throw attemptFailure.lost(FAILURE_TYPES.fenced, 'worker w1 lost the server', progressAt(2));
    throw attemptFailure.lost(FAILURE_TYPES.workerLost, 'worker w1 died');
  });
  // `retries: 0`: any attempt counted as a failure would end the trial after the first.
  const handle = await startTrial(mockSpec(name, 'retries: 0'), workers.options({ maxLostAttempts: 3 }));
  const summary = await failedTrial(handle, 'lost its worker 3 times; giving up');

  assert.deepEqual(
    calls.map(({ input }) => [input.attempt, input.resume, input.adoptable]),
    [
      [1, undefined, undefined],
      [2, progressAt(1), undefined],
      // The last loss had no progress: the one before still holds.
      [3, progressAt(2), undefined],
    ],
  );
  assert.deepEqual(
    summary.attempts.map(({ endedAt: _endedAt, ...attempt }) => attempt),
    [
      { attempt: 1, outcome: 'lost', reason: 'worker w1 stopped', worker: 'w1', startedAt: 1_001 },
      { attempt: 2, outcome: 'lost', reason: 'worker w1 lost the server', worker: 'w1', startedAt: 1_002 },
      // Without progress, the worker is the queue in the failure's identity (`w1#42`).
      { attempt: 3, outcome: 'lost', reason: 'worker w1 died', worker: 'w1' },
    ],
  );
  assert.equal((await handle.describe()).typedSearchAttributes.get(trialStateKey), 'failed');
});

test('after a heartbeat timeout the next attempt may adopt the lost one; an adopted result is noted', async () => {
  const name = uniqueName('adopt');
  const calls = workers.script(name, async (input, call) => {
    if (call === 1) {
      Context.current().heartbeat(progressAt(3));
      // Never returns and never heartbeats again: the server gives the attempt up after the heartbeat timeout.
      await blockUntil(new Promise(() => {}));
    }
    return resultOf({ metrics: { loss: 0.1 }, worker: 'w2', adoptedFrom: input.adoptable });
  });
  const handle = await startTrial(mockSpec(name, 'retries: 0'), workers.options({ heartbeatTimeoutSeconds: 2 }));
  const summary = await handle.result();

  assert.equal(calls.length, 2);
  assert.equal(calls[1]?.input.attempt, 2);
  assert.equal(calls[1]?.input.adoptable, 1);
  assert.deepEqual(calls[1]?.input.resume, progressAt(3));
  assert.equal(calls[1]?.input.plan.policy.heartbeatTimeoutSeconds, 2);
  assert.equal(summary.state, 'succeeded');
  assert.deepEqual(
    summary.attempts.map(({ endedAt: _endedAt, ...attempt }) => attempt),
    [
      { attempt: 1, outcome: 'lost', reason: 'no heartbeat for 2s', worker: 'w1', startedAt: 1_003 },
      {
        attempt: 2,
        outcome: 'succeeded',
        worker: 'w2',
        exitCode: 0,
        startedAt: summary.attempts[1]?.startedAt,
        exitedAt: summary.attempts[1]?.exitedAt,
        note: 'adopted the result of attempt 1, whose worker died before reporting it',
      },
    ],
  );
});

test('a failed command is retried `retries` times with backoff 1 s, 2 s, then the trial ends failed', async () => {
  const name = uniqueName('backoff');
  const calls = workers.script(name, () => {
    throw exitFailure(1);
  });
  const handle = await startTrial(mockSpec(name, 'retries: 2'), workers.options());
  const summary = await failedTrial(handle, 'exit 1 on w1: boom');

  assert.deepEqual(
    calls.map(({ input }) => [input.attempt, input.resume, input.adoptable]),
    [
      [1, undefined, undefined],
      [2, undefined, undefined],
      [3, undefined, undefined],
    ],
  );
  const [first = 0, second = 0] = gaps(calls);
  // Server timers, this process's clock: loose bounds.
  assert.ok(first >= 950, `first backoff ${first} ms`);
  assert.ok(second >= 1950, `second backoff ${second} ms`);
  assert.equal(summary.exitCode, 1);
  assert.deepEqual(
    summary.attempts.map(({ endedAt: _endedAt, ...attempt }) => attempt),
    [1, 2, 3].map((attempt) => ({
      attempt,
      outcome: 'failed',
      reason: 'exit 1 on w1: boom',
      worker: 'w1',
      exitCode: 1,
    })),
  );
  const description = await handle.describe();
  assert.equal(description.status.name, 'FAILED');
  assert.equal(description.typedSearchAttributes.get(trialStateKey), 'failed');
});

test('retries: 0 fails at the first failed command', async () => {
  const name = uniqueName('no-retries');
  const calls = workers.script(name, () => {
    throw exitFailure(2);
  });
  const handle = await startTrial(mockSpec(name, 'retries: 0'), workers.options());
  const summary = await failedTrial(handle, 'exit 2 on w1: boom');
  assert.equal(calls.length, 1);
  assert.equal(summary.exitCode, 2);
  assert.deepEqual(summary.metrics, {});
  // The line a person reads first: the failure's cause, the last line of stderr.
  assert.equal(summary.cause, 'boom');
});

test('an exit code in non_retryable_exit_codes fails at once; another is retried', async () => {
  const name = uniqueName('non-retryable');
  const calls = workers.script(name, (input) => {
    if (input.plan.index === 0) throw exitFailure(3);
    if (input.attempt === 1) throw exitFailure(4);
    return resultOf();
  });
  const spec = mockSpec(name, 'retries: 3\nnon_retryable_exit_codes: [3]', '  x: [1, 2]');
  const [final, retried] = await Promise.all([
    startTrial(spec, workers.options(), 0),
    startTrial(spec, workers.options(), 1),
  ]);

  const summary = await failedTrial(final, 'exit 3 on w1: boom');
  assert.equal(summary.exitCode, 3);
  assert.equal(summary.attempts.length, 1);
  assert.equal((await retried.result()).state, 'succeeded');
  assert.deepEqual(calls.map(({ input }) => [input.plan.index, input.attempt]).sort(), [
    [0, 1],
    [1, 1],
    [1, 2],
  ]);
});

test('exits 126 and 127 (cannot run) fail at once by default', async () => {
  const name = uniqueName('not-runnable');
  const calls = workers.script(name, (input) => {
    throw exitFailure(input.plan.index === 0 ? 126 : 127);
  });
  const spec = mockSpec(name, 'retries: 3', '  x: [1, 2]');
  const [notExecutable, notFound] = await Promise.all([
    startTrial(spec, workers.options(), 0),
    startTrial(spec, workers.options(), 1),
  ]);
  assert.equal((await failedTrial(notExecutable, 'exit 126 on w1: boom')).exitCode, 126);
  assert.equal((await failedTrial(notFound, 'exit 127 on w1: boom')).exitCode, 127);
  assert.equal(calls.length, 2);
});

test('a hand-back is not an attempt: the trial goes back with the same attempt number', async () => {
  const name = uniqueName('handed-back');
  const calls = workers.script(name, (_input, call) => {
    if (call <= 2) throw attemptFailure.handedBack('w1 is busy: back to the pool');
    return resultOf({ worker: 'w2' });
  });
  // Two hand-backs counted as failures or as losses would each end this trial.
  const handle = await startTrial(mockSpec(name, 'retries: 0'), workers.options({ maxLostAttempts: 1 }));
  const summary = await handle.result();

  assert.deepEqual(
    calls.map(({ input }) => input.attempt),
    [1, 1, 1],
  );
  assert.equal(summary.state, 'succeeded');
  assert.deepEqual(
    summary.attempts.map(({ attempt, outcome, worker }) => ({ attempt, outcome, worker })),
    [{ attempt: 1, outcome: 'succeeded', worker: 'w2' }],
  );
});

test('a hand-back for not fitting: the reason stays in the memo, hand-backs are counted, a never-fit pauses', async () => {
  const name = uniqueName('does-not-fit');
  const times: number[] = [];
  const calls = workers.script(name, (_input, call) => {
    times.push(Date.now());
    if (call === 1) {
      throw attemptFailure.handedBack('w1: waited', {
        reason: 'needs 40 GiB GPU memory; the most free is 24 GiB on w1',
        never: false,
      });
    }
    if (call === 2)
      throw attemptFailure.handedBack('w2: never', { reason: 'needs 4 GPUs on one host; w2 has 2', never: true });
    return resultOf({ worker: 'w3' });
  });
  const handle = await startTrial(mockSpec(name, 'retries: 0'), workers.options());
  const summary = await handle.result();
  assert.equal(summary.state, 'succeeded');
  assert.deepEqual(
    calls.map(({ input }) => [input.attempt, input.handBacks]),
    [
      [1, undefined],
      [1, 1],
      [1, 2],
    ],
  );
  assert.ok((times[2] ?? 0) - (times[1] ?? 0) >= 1000, 'it paused a second after a worker that could never hold it');
  assert.equal((await handle.describe()).memo?.waitingFor ?? null, null, 'cleared once the trial ended');
});

test('a trial cancelled while it pauses between attempts ends cancelled, as it does while running', async () => {
  const name = uniqueName('cancel-in-pause');
  const calls = workers.script(name, () => {
    throw attemptFailure.handedBack('w2: never', { reason: 'needs 4 GPUs on one host; w2 has 2', never: true });
  });
  const handle = await startTrial(mockSpec(name, 'retries: 0'), workers.options());
  await eventually('two hand-backs and the reason in the memo', async () =>
    calls.length >= 2 && (await handle.describe()).memo?.waitingFor === 'needs 4 GPUs on one host; w2 has 2'
      ? true
      : undefined,
  );
  await handle.cancel();
  const summary = await handle.result();
  assert.equal(summary.state, 'cancelled');
});

test('a timed-out attempt counts as a failure, with how long it ran', async () => {
  const name = uniqueName('timed-out');
  const calls = workers.script(name, () => {
    throw attemptFailure.timedOut({ timeoutSeconds: 5, step: 4 });
  });
  const handle = await startTrial(mockSpec(name, 'retries: 1\ntimeout: 5s'), workers.options());
  const summary = await failedTrial(handle, 'timed out after 5s of running (step 4)');

  assert.equal(calls.length, 2);
  assert.ok((gaps(calls)[0] ?? 0) >= 950, 'backed off before the retry');
  assert.deepEqual(
    summary.attempts.map(({ attempt, outcome, reason }) => ({ attempt, outcome, reason })),
    [1, 2].map((attempt) => ({ attempt, outcome: 'timed-out', reason: 'timed out after 5s of running (step 4)' })),
  );
});

test('a command that reports no metric counts as a failure', async () => {
  const name = uniqueName('no-metric');
  const calls = workers.script(name, () => {
    throw attemptFailure.metricMissing('exited 0 without reporting loss', 0);
  });
  const handle = await startTrial(mockSpec(name, 'retries: 0\nmetric: {name: loss}'), workers.options());
  const summary = await failedTrial(handle, 'exited 0 without reporting loss');
  assert.equal(calls.length, 1);
  assert.equal(summary.attempts[0]?.outcome, 'failed');
});

test('a trial started with the input of older sweeps (the whole spec) plans itself and runs as before', async () => {
  const name = uniqueName('legacy');
  const calls = workers.script(name, () => resultOf({ metrics: { loss: 0.5 } }));
  const spec = mockSpec(name, 'metric: {name: loss, goal: minimize}', '  x: [1, 2]');
  const options = workers.options();
  const sweepId = `${name}-no-sweep`;
  const handle = await workers.client.workflow.start<typeof trialWorkflow>('trialWorkflow', {
    args: [{ sweepId, spec, index: 1, options }],
    workflowId: trialWorkflowId(sweepId, 1),
    taskQueue: options.controlQueue,
  });
  const summary = await handle.result();
  assert.equal(summary.state, 'succeeded');
  assert.deepEqual(calls[0]?.input.plan, planTrial(spec, 1, sweepId, options));
  assert.deepEqual(summary.params, { x: 2 });
});
