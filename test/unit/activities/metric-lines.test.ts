import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  MetricTracker,
  parseMetricLine,
  readCheckpointLine,
  readMetricLine,
} from '../../../src/activities/metric-lines.js';
import { describeExit, exitCodeOf } from '../../../src/activities/exit-status.js';
import { decodeMetric, encodeMetric } from '../../../src/workflows/metric-values.js';

const lines: [string, ReturnType<typeof readMetricLine>][] = [
  [
    '@sweep {"step": 3, "val_loss": 0.25, "acc": 0.91}',
    { report: { step: 3, metrics: { val_loss: 0.25, acc: 0.91 } } },
  ],
  ['step=3 val_loss=0.25 acc=.91', { report: { step: 3, metrics: { val_loss: 0.25, acc: 0.91 } } }],
  ['loss=-1.5e-2, lr=3', { report: { metrics: { loss: -0.015, lr: 3 } } }],
  ['train/loss=0.5', { report: { metrics: { 'train/loss': 0.5 } } }],
  // Non-finite values are values, in every spelling Python, numpy, C and JavaScript print.
  ['loss=nan', { report: { metrics: { loss: 'nan' } } }],
  [
    'a=NaN b=inf c=-inf d=Infinity e=-Infinity f=+inf g=INF h=-nan',
    { report: { metrics: { a: 'nan', b: 'inf', c: '-inf', d: 'inf', e: '-inf', f: 'inf', g: 'inf', h: 'nan' } } },
  ],
  // Python's json.dumps writes bare NaN / Infinity, which JSON.parse rejects.
  [
    '@sweep {"loss": NaN, "a": Infinity, "b": -Infinity, "step": 2}',
    { report: { step: 2, metrics: { loss: 'nan', a: 'inf', b: '-inf' } } },
  ],
  [
    '@sweep {"loss": "nan", "a": "inf", "b": "-inf", "c": "NaN", "d": "-Infinity"}',
    { report: { metrics: { loss: 'nan', a: 'inf', b: '-inf', c: 'nan', d: '-inf' } } },
  ],
  // A token inside a string stays a string, escaped quotes and all.
  [
    '@sweep {"loss": NaN, "note": "NaN, \\" Infinity"}',
    { report: { metrics: { loss: 'nan' } }, problem: 'note: "NaN, \\" Infinity" is not a number' },
  ],
  // Meant as metrics but not all numbers: what can be read is, and the line says what could not.
  [
    '@sweep {"loss": 1e-3, "note": "text", "nested": {"a": 1}}',
    { report: { metrics: { loss: 0.001 } }, problem: 'note: "text" is not a number; nested: {"a":1} is not a number' },
  ],
  // Pairs that are not all numbers may be a log line (a config echo): nothing is read, but the line is counted.
  ['step=3 loss=0.5 model=resnet', { problem: 'model: "resnet" is not a number' }],
  ['step=nan loss=1', { problem: 'step: "nan" is not a finite number' }],
  [
    '@sweep {"step": "nan", "loss": 1}',
    { report: { metrics: { loss: 1 } }, problem: 'step: "nan" is not a finite number' },
  ],
  ['loss=abc', { problem: 'loss: "abc" is not a number' }],
  ['x=', { problem: 'x: "" is not a number' }],
  ['@sweep {"loss": null}', { problem: 'loss: null is not a number' }],
  ['@sweep {"note": "no numbers"}', { problem: 'note: "no numbers" is not a number' }],
  ['@sweep {}', { problem: 'no metrics' }],
  ['@sweep not json', { problem: 'not JSON' }],
  ['@sweep {"loss": }', { problem: 'not JSON' }],
  ['@sweep {"loss": NaNa}', { problem: 'not JSON' }],
  ['@sweep [1, 2]', { problem: 'not a JSON object' }],
  // Log lines.
  ['epoch 3 loss=0.25', undefined],
  ['--lr=0.1', undefined],
  ['NaN', undefined],
  ['@sweepy {"loss": 1}', undefined],
  ['Downloading data...', undefined],
  ['', undefined],
];
for (const [line, expected] of lines) {
  test(`metric line ${JSON.stringify(line)}`, () => {
    assert.deepEqual(readMetricLine(line), expected);
    assert.deepEqual(parseMetricLine(line), expected?.report);
  });
}

test('metric values: non-finite ones are strings on the wire, and survive JSON', () => {
  const cases: [number, number | string][] = [
    [0.25, 0.25],
    [-3, -3],
    [NaN, 'nan'],
    [Infinity, 'inf'],
    [-Infinity, '-inf'],
  ];
  for (const [value, encoded] of cases) {
    assert.equal(encodeMetric(value), encoded);
    assert.equal(decodeMetric(JSON.parse(JSON.stringify(encodeMetric(value)))), value);
  }
  // What JSON.stringify made of a non-finite number that reached a payload unencoded.
  assert.equal(decodeMetric(null), NaN);
  assert.equal(decodeMetric('0.5'), undefined);
  assert.equal(decodeMetric(undefined), undefined);
});

test('a checkpoint report is read apart from metrics: with step and path when given, still one when unreadable', () => {
  assert.deepEqual(readCheckpointLine('@sweep-checkpoint'), {});
  assert.deepEqual(readCheckpointLine('@sweep-checkpoint {"step": 120, "path": "ckpt/120.pt"}'), {
    step: 120,
    path: 'ckpt/120.pt',
  });
  assert.deepEqual(readCheckpointLine('@sweep-checkpoint {"step": "late", "path": 3}'), {});
  assert.deepEqual(readCheckpointLine('@sweep-checkpoint {oops'), {}, 'the state was saved either way');
  assert.equal(readCheckpointLine('@sweep-checkpointing now'), undefined);
  assert.equal(readCheckpointLine('saved @sweep-checkpoint'), undefined);
  assert.equal(readMetricLine('@sweep-checkpoint {"step": 1}'), undefined, 'not a metric line');
});

test('the tracker keeps the last value of each metric, and the best of the objective with its step', () => {
  const minimize = new MetricTracker({ name: 'loss', goal: 'minimize' });
  for (const [step, loss] of [
    [1, 0.9],
    [2, 0.4],
    [3, 0.6],
  ] as const)
    minimize.record({ step, metrics: { loss, acc: step } });
  assert.deepEqual(minimize.snapshot(), { step: 3, metrics: { loss: 0.6, acc: 3 }, best: 0.4, bestStep: 2 });
  const maximize = new MetricTracker({ name: 'acc', goal: 'maximize' });
  for (const acc of [0.5, 0.8, 0.7]) maximize.record({ metrics: { acc } });
  assert.deepEqual(maximize.snapshot(), { metrics: { acc: 0.7 }, best: 0.8 });
  const none = new MetricTracker();
  none.record({ metrics: { x: 1 } });
  assert.deepEqual(none.snapshot(), { metrics: { x: 1 } });
});

test('a diverged trial shows nan and is never best: only a finite value can be', () => {
  const diverged = new MetricTracker({ name: 'loss', goal: 'minimize' });
  for (const line of ['step=1 loss=0.5', 'step=2 loss=-inf', 'step=3 loss=nan']) diverged.read(line);
  assert.deepEqual(diverged.snapshot(), { step: 3, metrics: { loss: 'nan' }, best: 0.5, bestStep: 1 });
  const onlyNan = new MetricTracker({ name: 'loss', goal: 'minimize' });
  onlyNan.read('@sweep {"step": 1, "loss": NaN}');
  assert.deepEqual(onlyNan.snapshot(), { step: 1, metrics: { loss: 'nan' } });
  const maximize = new MetricTracker({ name: 'reward', goal: 'maximize' });
  for (const line of ['reward=inf', 'reward=nan', 'reward=2']) maximize.read(line);
  assert.deepEqual(maximize.snapshot(), { metrics: { reward: 2 }, best: 2 });
  // What heartbeats, results and memos carry comes back the same from JSON.
  const snapshot = diverged.snapshot();
  assert.deepEqual(JSON.parse(JSON.stringify(snapshot)), snapshot);
});

test('unparseable metric lines are counted, and the first is reported once with where and why', () => {
  const tracker = new MetricTracker({ name: 'loss', goal: 'minimize' });
  const stdout = ['@sweep {"step": 1, "loss": 0.5}', 'loading', '@sweep {"loss": }', 'loss=abc', 'step=2 loss=0.25'];
  assert.deepEqual(
    stdout.map((line) => tracker.read(line)),
    [{ step: 1, metrics: { loss: 0.5 } }, undefined, undefined, undefined, { step: 2, metrics: { loss: 0.25 } }],
  );
  assert.equal(tracker.unparseable, 2);
  assert.equal(tracker.firstUnparseable, 'stdout line 3: @sweep {"loss": } (not JSON)');
  assert.equal(
    tracker.unparseableWarning(),
    '2 metric lines could not be read in full; the first, stdout line 3: @sweep {"loss": } (not JSON)',
  );
  assert.deepEqual(tracker.snapshot(), { step: 2, metrics: { loss: 0.25 }, best: 0.25, bestStep: 2 });

  const long = new MetricTracker();
  long.read(`@sweep {"loss": 1, "note": "${'x'.repeat(200)}"}`);
  assert.deepEqual(long.metrics, { loss: 1 });
  assert.equal(
    long.unparseableWarning(),
    `1 metric line could not be read in full; the first, stdout line 1: ` +
      `@sweep {"loss": 1, "note": "${'x'.repeat(92)}… (note: "${'x'.repeat(39)}… is not a number)`,
  );
  const clean = new MetricTracker();
  for (const line of ['hello', 'loss=1']) clean.read(line);
  assert.equal(clean.unparseableWarning(), undefined);
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
