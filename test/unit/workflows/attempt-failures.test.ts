import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  ActivityFailure,
  ApplicationFailure,
  ApplicationFailureCategory,
  CancelledFailure,
  RetryState,
  TimeoutFailure,
  TimeoutType,
} from '@temporalio/common';
import {
  attemptFailure,
  classifyAttempt,
  FAILURE_TYPES,
  type AttemptVerdict,
} from '../../../src/workflows/attempt-failures.js';
import type { TrialProgress } from '../../../src/workflows/types.js';

const context = { heartbeatTimeoutSeconds: 30, timeoutSeconds: 5 };
const running: TrialProgress = { metrics: { loss: 0.5 }, step: 7, worker: 'hostB-gpu1', startedAt: 1000, attempt: 1 };
const waiting: TrialProgress = { metrics: {}, worker: 'hostB-gpu1', attempt: 1, waiting: true };

/** What `await runTrial(...)` throws in the workflow: the activity's failure wrapping its cause. */
function activityFailed(cause: Error, identity = 'hostB-gpu1#42'): ActivityFailure {
  return new ActivityFailure('activity failed', 'runTrial', '1', RetryState.MAXIMUM_ATTEMPTS_REACHED, identity, cause);
}

const commandFailed = (exitCode: number) =>
  attemptFailure.commandFailed(`exit ${exitCode}: boom`, {
    exitCode,
    signal: null,
    stderrTail: 'line\nboom',
    cause: 'boom',
  });

const cases: [string, unknown, AttemptVerdict][] = [
  ['a cancelled activity', activityFailed(new CancelledFailure('cancelled')), { kind: 'cancelled' }],
  ['a cancellation of the workflow itself', new CancelledFailure('cancelled'), { kind: 'cancelled' }],
  ['a hand-back', activityFailed(attemptFailure.handedBack('busy')), { kind: 'handed-back' }],
  [
    'a heartbeat timeout while running: lost, resumable, and maybe finished',
    activityFailed(new TimeoutFailure('timeout', running, TimeoutType.HEARTBEAT), ''),
    {
      kind: 'lost',
      reason: 'no heartbeat for 30s',
      resume: running,
      worker: 'hostB-gpu1',
      startedAt: 1000,
      mayHaveFinished: true,
    },
  ],
  [
    'a heartbeat timeout while held ready: lost, with nothing to resume or adopt',
    activityFailed(new TimeoutFailure('timeout', waiting, TimeoutType.HEARTBEAT), ''),
    { kind: 'lost', reason: 'no heartbeat for 30s', worker: 'hostB-gpu1', mayHaveFinished: false },
  ],
  [
    'a heartbeat timeout before any heartbeat: the worker from the failure',
    activityFailed(new TimeoutFailure('timeout', undefined, TimeoutType.HEARTBEAT), 'w#1'),
    { kind: 'lost', reason: 'no heartbeat for 30s', worker: 'w', mayHaveFinished: true },
  ],
  [
    'a worker shutdown: lost, resumable, never adopted (the worker said why it stopped)',
    activityFailed(attemptFailure.lost(FAILURE_TYPES.workerShutdown, 'shutting down', running)),
    {
      kind: 'lost',
      reason: 'shutting down',
      resume: running,
      worker: 'hostB-gpu1',
      startedAt: 1000,
      mayHaveFinished: false,
    },
  ],
  [
    'a fenced attempt without progress',
    activityFailed(attemptFailure.lost(FAILURE_TYPES.fenced, 'cut off')),
    { kind: 'lost', reason: 'cut off', worker: 'hostB-gpu1', mayHaveFinished: false },
  ],
  [
    "a successor's report of a lost attempt",
    activityFailed(attemptFailure.lost(FAILURE_TYPES.workerLost, 'its worker died', running)),
    {
      kind: 'lost',
      reason: 'its worker died',
      resume: running,
      worker: 'hostB-gpu1',
      startedAt: 1000,
      mayHaveFinished: false,
    },
  ],
  [
    'a failing command',
    activityFailed(commandFailed(3)),
    { kind: 'failed', reason: 'exit 3: boom', exitCode: 3, cause: 'boom', notRunnable: false, worker: 'hostB-gpu1' },
  ],
  [
    'a failing command that reported steps: its curve comes along, and a malformed one does not',
    activityFailed(
      attemptFailure.commandFailed('exit 3: diverged', {
        exitCode: 3,
        signal: null,
        stderrTail: 'diverged',
        cause: 'diverged',
        curve: [
          [1, 0.5],
          [2, 9e9],
        ],
      }),
    ),
    {
      kind: 'failed',
      reason: 'exit 3: diverged',
      exitCode: 3,
      cause: 'diverged',
      notRunnable: false,
      worker: 'hostB-gpu1',
      curve: [
        [1, 0.5],
        [2, 9e9],
      ],
    },
  ],
  [
    'a failure whose curve is not pairs of numbers: no curve',
    activityFailed(
      ApplicationFailure.create({
        type: FAILURE_TYPES.commandFailed,
        message: 'exit 3',
        details: [{ exitCode: 3, curve: [[1, 'nan']] }],
      }),
    ),
    { kind: 'failed', reason: 'exit 3', exitCode: 3, notRunnable: false, worker: 'hostB-gpu1' },
  ],
  [
    'command not found',
    activityFailed(commandFailed(127)),
    { kind: 'failed', reason: 'exit 127: boom', exitCode: 127, cause: 'boom', notRunnable: true, worker: 'hostB-gpu1' },
  ],
  [
    'not executable',
    activityFailed(commandFailed(126)),
    { kind: 'failed', reason: 'exit 126: boom', exitCode: 126, cause: 'boom', notRunnable: true, worker: 'hostB-gpu1' },
  ],
  [
    'a missing metric',
    activityFailed(attemptFailure.metricMissing('no metric', 0)),
    { kind: 'failed', reason: 'no metric', exitCode: 0, notRunnable: false, worker: 'hostB-gpu1' },
  ],
  [
    'the command ran past its timeout',
    activityFailed(attemptFailure.timedOut({ timeoutSeconds: 5, step: 2 })),
    { kind: 'timed-out', reason: 'timed out after 5s of running (step 2)', notRunnable: false, worker: 'hostB-gpu1' },
  ],
  [
    "an older sweep's start-to-close timeout",
    activityFailed(new TimeoutFailure('timeout', undefined, TimeoutType.START_TO_CLOSE), ''),
    { kind: 'timed-out', reason: 'timed out after 5s', notRunnable: false },
  ],
  [
    'stopped at its checkpoint by pause --hold: resumes from there, neither lost nor a failure',
    activityFailed(
      attemptFailure.heldAtCheckpoint('stopped at its checkpoint (step 3)', {
        progress: { ...running, checkpoint: { step: 3, at: 1500 } },
        startedAt: 1000,
        endedAt: 2000,
      }),
    ),
    {
      kind: 'held-at-checkpoint',
      reason: 'stopped at its checkpoint (step 3)',
      resume: { ...running, checkpoint: { step: 3, at: 1500 } },
      worker: 'hostB-gpu1',
      startedAt: 1000,
      exitedAt: 2000,
    },
  ],
  [
    'an unexpected failure type',
    activityFailed(ApplicationFailure.create({ type: 'Weird', message: 'weird' })),
    { kind: 'failed', reason: 'weird', notRunnable: false, worker: 'hostB-gpu1' },
  ],
  [
    'heartbeat details that are not progress',
    activityFailed(new TimeoutFailure('timeout', 'garbage', TimeoutType.HEARTBEAT), ''),
    { kind: 'lost', reason: 'no heartbeat for 30s', mayHaveFinished: true },
  ],
];

for (const [what, error, verdict] of cases) {
  test(`classifyAttempt: ${what}`, () => {
    assert.deepEqual(classifyAttempt(error, context), verdict);
  });
}

test('classifyAttempt rethrows what is not an activity failure (a bug, not an attempt outcome)', () => {
  const bug = new TypeError('x is undefined');
  assert.throws(() => classifyAttempt(bug, context), bug);
});

test('exits 126 and 127 are non-retryable failures; a hand-back is benign (not logged as a failure)', () => {
  assert.equal(commandFailed(127).nonRetryable, true);
  assert.equal(commandFailed(1).nonRetryable, false);
  assert.equal(attemptFailure.handedBack('busy').category, ApplicationFailureCategory.BENIGN);
  const held = attemptFailure.heldAtCheckpoint('held', { progress: { metrics: {} }, startedAt: 0, endedAt: 1 });
  assert.equal(held.category, ApplicationFailureCategory.BENIGN, 'a hold is the user asking, not a failure');
});
