import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  applyChange,
  changeProblem,
  decideStart,
  describeSettings,
  gateIsUp,
  wakeCount,
  type SweepChange,
  type SweepSettings,
  type TrialStanding,
} from '../../../src/workflows/sweep-changes.js';

const settings: SweepSettings = { paused: false, maxParallel: 4, retries: 0 };
const request = (change: SweepChange) => ({ id: 'c1', by: 'alice@hostA', change });
const standing = (index: number): TrialStanding => (index < 3 ? 'ended' : index < 5 ? 'running' : 'not-started');
const sweepNow = (now: SweepSettings) => ({
  settings: now,
  standing: (index: number) => (index > 9 ? 'no-such-trial' : standing(index)),
  growthProblem: () => 'no grid here',
});
const problem = (change: SweepChange, now: SweepSettings = settings) => changeProblem(request(change), sweepNow(now));

test('a valid change has no problem', () => {
  assert.equal(problem({ kind: 'pause' }), undefined);
  assert.equal(problem({ kind: 'resume' }, { ...settings, paused: true }), undefined);
  assert.equal(problem({ kind: 'set', maxParallel: 1, retries: 2, timeoutSeconds: 90 }), undefined);
  assert.equal(problem({ kind: 'set', timeoutSeconds: null }, { ...settings, timeoutSeconds: 60 }), undefined);
  assert.equal(problem({ kind: 'stop-trial', index: 3 }), undefined, 'running');
  assert.equal(problem({ kind: 'stop-trial', index: 7 }), undefined, 'not started');
});

test('each refusal says what was expected', () => {
  assert.equal(problem({ kind: 'pause' }, { ...settings, paused: true }), 'the sweep is already paused');
  assert.equal(problem({ kind: 'resume' }), 'the sweep is not paused');
  assert.match(problem({ kind: 'set' }) ?? '', /nothing to change/);
  assert.match(problem({ kind: 'set', maxParallel: 0 }) ?? '', /max parallel: expected a whole number from 1/);
  assert.match(problem({ kind: 'set', maxParallel: 2.5 }) ?? '', /max parallel: expected a whole number/);
  assert.match(problem({ kind: 'set', retries: -1 }) ?? '', /retries: expected a whole number from 0/);
  assert.match(problem({ kind: 'set', timeoutSeconds: 0 }) ?? '', /timeout: expected a positive duration/);
  assert.equal(
    problem({ kind: 'set', maxParallel: 4, retries: 0 }),
    'nothing would change: max parallel 4, retries 0, timeout none',
  );
  assert.equal(problem({ kind: 'stop-trial', index: 1 }), 'trial 1 has already ended');
  assert.equal(problem({ kind: 'stop-trial', index: 12 }), 'trial 12: the sweep has no such trial');
  assert.match(problem({ kind: 'stop-trial', index: -1 }) ?? '', /trial: expected a trial index/);
  assert.equal(problem({ kind: 'grow', steps: [] }), 'no grid here', "the grid's own problem");
  assert.equal(problem({ kind: 'rerun-trial', index: 1 }), 'no grid here', 'ended: up to the grid');
  assert.match(problem({ kind: 'rerun-trial', index: 3 }) ?? '', /trial 3 is running: rerun it once it has ended/);
  assert.match(problem({ kind: 'rerun-trial', index: 7 }) ?? '', /trial 7 has not started yet/);
  assert.match(problem({ kind: 'rerun-trial', index: 12 }) ?? '', /trial 12: the sweep has no such trial/);
  assert.match(problem({ kind: 'widen' } as unknown as SweepChange) ?? '', /expected one of pause, resume, set/);
  assert.match(changeProblem({ ...request({ kind: 'pause' }), by: '' }, sweepNow(settings)) ?? '', /^by:/);
  assert.match(changeProblem({ ...request({ kind: 'pause' }), id: '' }, sweepNow(settings)) ?? '', /^change id:/);
});

test('applying a change says what changed, from what to what', () => {
  assert.deepEqual(applyChange(settings, { kind: 'set', maxParallel: 1, timeoutSeconds: 120 }), {
    settings: { paused: false, maxParallel: 1, retries: 0, timeoutSeconds: 120 },
    result: 'max parallel 4 → 1, timeout none → 120s',
  });
  assert.deepEqual(applyChange({ ...settings, timeoutSeconds: 60 }, { kind: 'set', timeoutSeconds: null }), {
    settings,
    result: 'timeout 60s → none',
  });
  assert.equal(applyChange(settings, { kind: 'pause' }).settings.paused, true);
});

test('pause --hold: on a running or a plainly paused sweep; resume lets go of the hold', () => {
  const paused = { ...settings, paused: true };
  assert.equal(problem({ kind: 'pause', hold: true }), undefined);
  assert.equal(problem({ kind: 'pause', hold: true }, paused), undefined, 'a paused sweep may still hold');
  assert.equal(
    problem({ kind: 'pause', hold: true }, { ...paused, hold: true }),
    'the sweep is already paused with --hold',
  );
  assert.equal(problem({ kind: 'pause' }, { ...paused, hold: true }), 'the sweep is already paused with --hold');
  assert.equal(
    problem({ kind: 'pause', hold: 'yes' } as unknown as SweepChange),
    'hold: expected true or false, got "yes"',
  );
  assert.deepEqual(applyChange(settings, { kind: 'pause', hold: true }), {
    settings: { ...paused, hold: true },
    result: 'paused: no new trial starts; running trials go back to the queue at their next checkpoint',
  });
  assert.deepEqual(applyChange(paused, { kind: 'pause', hold: true }), {
    settings: { ...paused, hold: true },
    result: 'still paused: running trials go back to the queue at their next checkpoint',
  });
  assert.deepEqual(applyChange({ ...paused, hold: true }, { kind: 'resume' }), { settings, result: 'resumed' });
  assert.match(describeSettings({ ...paused, hold: true }), /^paused, holding running trials at checkpoints, /);
});

test('the start gate is up only while paused or over max parallel', () => {
  assert.equal(gateIsUp(settings, 4), false);
  assert.equal(gateIsUp(settings, 5), true);
  assert.equal(gateIsUp({ ...settings, paused: true }, 0), true);
});

test('a start is granted while fewer than max parallel others may run; held trials do not count', () => {
  const one = { ...settings, maxParallel: 1 };
  const inFlight = new Set([1, 2, 3]);
  assert.deepEqual(decideStart(one, 3, inFlight, new Set()), {
    granted: false,
    reason: 'the sweep runs at most 1 at once',
  });
  assert.deepEqual(decideStart(one, 3, inFlight, new Set([1, 2])), { granted: true });
  assert.deepEqual(decideStart(one, 3, inFlight, new Set([1, 2, 3])), { granted: true }, 'its own hold aside');
  assert.deepEqual(decideStart({ ...one, paused: true }, 3, inFlight, new Set([1, 2])), {
    granted: false,
    reason: 'the sweep is paused',
  });
  assert.equal(decideStart(one, 9, inFlight, new Set()).granted, false, 'not in flight');
});

test('as many held trials wake as may start; all once the gate is down; none while paused', () => {
  assert.equal(wakeCount({ ...settings, maxParallel: 2 }, 10, 9), 1);
  assert.equal(wakeCount({ ...settings, maxParallel: 2 }, 10, 7), 0);
  assert.equal(wakeCount({ ...settings, maxParallel: 20 }, 10, 7), 7);
  assert.equal(wakeCount({ ...settings, paused: true }, 10, 10), 0);
});

test('priority and weight: checked, applied for trials handed out later, and refused for a sweep without a share', () => {
  const shared: SweepSettings = { ...settings, priority: 3, weight: 1 };
  assert.equal(problem({ kind: 'set', priority: 1, weight: 2.5 }, shared), undefined);
  assert.match(problem({ kind: 'set', priority: 6 }, shared) ?? '', /priority: expected a whole number from 1 to 5/);
  assert.match(problem({ kind: 'set', weight: 0 }, shared) ?? '', /weight: expected a number from 0.01 to 1000/);
  assert.match(problem({ kind: 'set', priority: 3 }, shared) ?? '', /nothing would change: .*priority 3, weight 1/);
  assert.match(problem({ kind: 'set', priority: 1 }) ?? '', /started before sharing/);
  assert.deepEqual(applyChange(shared, { kind: 'set', priority: 1, weight: 2 }), {
    settings: { ...shared, priority: 1, weight: 2 },
    result: 'priority 3 → 1, weight 1 → 2',
  });
});
