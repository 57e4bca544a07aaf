import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MetricTracker, parseMetricLine } from '../../../src/activities/metric-lines.js';
import { describeExit, exitCodeOf } from '../../../src/activities/exit-status.js';

const lines: [string, ReturnType<typeof parseMetricLine>][] = [
  ['@sweep {"step": 3, "val_loss": 0.25, "acc": 0.91}', { step: 3, metrics: { val_loss: 0.25, acc: 0.91 } }],
  ['@sweep {"loss": 1e-3, "note": "text", "nested": {"a": 1}}', { metrics: { loss: 0.001 } }],
  ['step=3 val_loss=0.25 acc=.91', { step: 3, metrics: { val_loss: 0.25, acc: 0.91 } }],
  ['loss=-1.5e-2, lr=3', { metrics: { loss: -0.015, lr: 3 } }],
  ['train/loss=0.5', { metrics: { 'train/loss': 0.5 } }],
  ['epoch 3 loss=0.25', undefined],
  ['loss=nan', undefined],
  ['@sweep not json', undefined],
  ['@sweep [1, 2]', undefined],
  ['@sweep {"note": "no numbers"}', undefined],
  ['Downloading data...', undefined],
  ['', undefined],
];
for (const [line, expected] of lines) {
  test(`metric line ${JSON.stringify(line)}`, () => assert.deepEqual(parseMetricLine(line), expected));
}

test('the tracker keeps the last value of each metric and the best of the objective', () => {
  const minimize = new MetricTracker({ name: 'loss', goal: 'minimize' });
  for (const [step, loss] of [
    [1, 0.9],
    [2, 0.4],
    [3, 0.6],
  ] as const)
    minimize.record({ step, metrics: { loss, acc: step } });
  assert.deepEqual([minimize.step, minimize.metrics, minimize.best], [3, { loss: 0.6, acc: 3 }, 0.4]);
  const maximize = new MetricTracker({ name: 'acc', goal: 'maximize' });
  for (const acc of [0.5, 0.8, 0.7]) maximize.record({ metrics: { acc } });
  assert.equal(maximize.best, 0.8);
  const none = new MetricTracker();
  none.record({ metrics: { x: 1 } });
  assert.equal(none.best, undefined);
});

test('exit codes and signals are described with their meaning', () => {
  assert.equal(describeExit(1, null), 'exit 1');
  assert.equal(describeExit(137, null), 'exit 137: killed (SIGKILL: out of memory, or killed by hand)');
  assert.equal(describeExit(null, 'SIGSEGV'), 'signal SIGSEGV: crashed (segmentation fault)');
  assert.equal(describeExit(127, null), 'exit 127: command not found');
  assert.equal(describeExit(143, null), 'exit 143: terminated (SIGTERM)');
  assert.equal(exitCodeOf(null, 'SIGKILL'), 137);
  assert.equal(exitCodeOf(3, null), 3);
});
