import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MAX_CURVE_POINTS, MetricCurve } from '../../../src/activities/metric-curve.js';
import { MetricTracker } from '../../../src/activities/metric-lines.js';

test('a short curve keeps every point', () => {
  const curve = new MetricCurve();
  for (let step = 1; step <= 5; step++) curve.add(step, 1 / step);
  assert.deepEqual(
    curve.values().map(([step]) => step),
    [1, 2, 3, 4, 5],
  );
});

test('a long curve stays bounded, evenly spaced, from the first report to the latest', () => {
  const curve = new MetricCurve();
  const reports = 100_003;
  for (let step = 0; step < reports; step++) curve.add(step, step);
  const steps = curve.values().map(([step]) => step);
  assert.ok(steps.length <= MAX_CURVE_POINTS + 1, `${steps.length} points`);
  assert.ok(steps.length >= MAX_CURVE_POINTS / 2, `${steps.length} points`);
  assert.equal(steps[0], 0);
  assert.equal(steps.at(-1), reports - 1, 'the latest report is kept');
  const spacing = new Set(steps.slice(1, -1).map((step, i) => step - (steps[i] ?? 0)));
  assert.equal(spacing.size, 1, `one spacing, got ${[...spacing].join(', ')}`);
});

test("the tracker's curve follows the sweep's metric, numbering reports without a step", () => {
  const tracker = new MetricTracker({ name: 'loss', goal: 'minimize' });
  for (const line of ['@sweep {"loss": 0.9}', 'acc=0.5', '@sweep {"loss": NaN}', 'loss=0.4', 'step=7 loss=0.3']) {
    tracker.read(line);
  }
  // NaN has no place on a plot; it still counts as the trial's value (see metric-lines).
  assert.deepEqual(tracker.curve.values(), [
    [1, 0.9],
    [2, 0.4],
    [7, 0.3],
  ]);
});
