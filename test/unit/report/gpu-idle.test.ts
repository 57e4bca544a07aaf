import assert from 'node:assert/strict';
import { test } from 'node:test';
import { attemptSpans, gpuIdle, idleBefore, waitingIntervals } from '../../../src/report/gpu-idle.js';
import type { AttemptRecord, TrialSummary } from '../../../src/workflows/types.js';

function trial(index: number, state: TrialSummary['state'], attempts: Partial<AttemptRecord>[]): TrialSummary {
  return {
    sweepId: 's',
    index,
    name: `t${index}`,
    params: {},
    state,
    metrics: {},
    attempts: attempts.map((record, i) => ({ attempt: i + 1, outcome: 'succeeded', ...record })),
  };
}

// Two workers, four trials, a sweep from 0 to 100. w1: t0 0-10, t2 15-30 (5 ms idle: t2 waited). w2: t1 0-20
// (lost), t3 40-50; t1 again on w1 30-60. t3 waited from 0 to 40, so w2's 20-40 gap is idle; w1's 60-100 is no
// gap (no later attempt there).
const trials = [
  trial(0, 'succeeded', [{ worker: 'w1', startedAt: 0, exitedAt: 10 }]),
  trial(1, 'succeeded', [
    { worker: 'w2', startedAt: 0, endedAt: 20, outcome: 'lost' },
    { worker: 'w1', startedAt: 30, exitedAt: 60 },
  ]),
  trial(2, 'succeeded', [{ worker: 'w1', startedAt: 15, exitedAt: 30 }]),
  trial(3, 'succeeded', [{ worker: 'w2', startedAt: 40, exitedAt: 50 }]),
];

test('spans: a bar per attempt that ran, ending where its process exited, else where the trial learnt of it', () => {
  assert.deepEqual(
    attemptSpans(trials, 100).map((span) => [span.trial, span.worker, span.start, span.end, span.outcome]),
    [
      [0, 'w1', 0, 10, 'succeeded'],
      [1, 'w2', 0, 20, 'lost'],
      [2, 'w1', 15, 30, 'succeeded'],
      [1, 'w1', 30, 60, 'succeeded'],
      [3, 'w2', 40, 50, 'succeeded'],
    ],
  );
});

test('trials wait from the sweep start to their first attempt, and from a lost attempt to the next', () => {
  assert.deepEqual(waitingIntervals(trials, attemptSpans(trials, 100), { start: 0, end: 100 }), [
    { start: 0, end: 40 },
  ]);
  const never = [...trials, trial(4, 'queued', []), trial(5, 'cancelled', [])];
  assert.deepEqual(waitingIntervals(never, attemptSpans(never, 100), { start: 0, end: 100 }), [{ start: 0, end: 100 }]);
});

test('idle: gaps between a worker’s attempts while trials waited, per worker and as a share of the wall time', () => {
  const idle = gpuIdle(trials, { start: 0, end: 100 });
  assert.deepEqual(idle.gaps, [
    { worker: 'w1', start: 10, end: 15 },
    { worker: 'w2', start: 20, end: 40 },
  ]);
  assert.deepEqual(idle.workers, [
    { worker: 'w1', busyMs: 55, idleMs: 5 },
    { worker: 'w2', busyMs: 30, idleMs: 20 },
  ]);
  assert.equal(idle.idleMs, 25);
  assert.equal(idle.idleShare, 25 / 200);
  assert.deepEqual(
    [...idleBefore(idle, trials)],
    [
      [0, 0],
      [1, 0],
      [2, 5],
      [3, 20],
    ],
  );
});

test('a gap while nothing waited is not idle: the sweep had no work for the worker', () => {
  const done = [
    trial(0, 'succeeded', [{ worker: 'w1', startedAt: 0, exitedAt: 10 }]),
    trial(1, 'succeeded', [{ worker: 'w1', startedAt: 30, exitedAt: 40 }]),
  ];
  // t1 waited 0-30, so all of w1's 10-30 is idle.
  assert.equal(gpuIdle(done, { start: 0, end: 40 }).idleMs, 20);
  // t1 started at once on w2: from 10 on nothing waited, so w1's gap before t1's retry is no idle time.
  const nothingWaits = [
    trial(0, 'succeeded', [{ worker: 'w1', startedAt: 0, exitedAt: 10 }]),
    trial(1, 'succeeded', [
      { worker: 'w2', startedAt: 0, exitedAt: 5, outcome: 'failed' },
      { worker: 'w1', startedAt: 30, exitedAt: 40 },
    ]),
  ];
  assert.equal(gpuIdle(nothingWaits, { start: 0, end: 40 }).idleMs, 0);
});
