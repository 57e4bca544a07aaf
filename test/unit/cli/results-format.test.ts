import assert from 'node:assert/strict';
import { test } from 'node:test';
import { UsageError } from '../../../src/errors.js';
import { formatResults, sortOrder, sortRows, trialCause, type SortOrder } from '../../../src/cli/results-format.js';
import { runningRow, type TrialRow } from '../../../src/cli/sweep-client.js';
import { webUiLink } from '../../../src/cli/web-ui.js';
import { resolveConnectionConfig } from '../../../src/temporal/connection-config.js';
import type { MetricValue } from '../../../src/workflows/metric-values.js';
import { specOf } from '../../helpers/spec.js';

const spec = specOf('command: t\nmetric: {name: loss, goal: minimize}\nparameters: {lr: [0.1, 0.01, 0.001]}', {});
const maximize = { ...spec, metric: { name: 'loss', goal: 'maximize' as const } };
const noMetric = specOf('command: t\nparameters: {lr: [0.1, 0.01, 0.001]}', {});

const row = (
  index: number,
  loss: MetricValue | undefined,
  extra: Partial<TrialRow> = {},
  state: TrialRow['state'] = 'succeeded',
): TrialRow => ({
  sweepId: 's',
  index,
  name: `t00${index}`,
  params: { lr: [0.1, 0.01, 0.001][index % 3] ?? 0 },
  state,
  attempts: [{ attempt: 1, outcome: state === 'succeeded' ? 'succeeded' : 'failed' }],
  metrics: loss === undefined ? {} : { loss },
  ...(typeof loss === 'number' ? { best: loss } : {}),
  ...(state === 'succeeded' ? { exitCode: 0, runtimeMs: 1500, worker: 'hostB-gpu1' } : {}),
  ...extra,
});

const orders: [string, Parameters<typeof sortOrder>[1], Parameters<typeof sortOrder>[2], SortOrder][] = [
  ['default: best first on best', spec, {}, { key: { kind: 'best' }, direction: 'asc' }],
  ['default, maximize', maximize, {}, { key: { kind: 'best' }, direction: 'desc' }],
  ['--sort best', maximize, { sort: 'best' }, { key: { kind: 'best' }, direction: 'desc' }],
  ['the sweep metric: best first', spec, { sort: 'loss' }, { key: { kind: 'metric', name: 'loss' }, direction: 'asc' }],
  [
    'the sweep metric, maximize',
    maximize,
    { sort: 'loss' },
    { key: { kind: 'metric', name: 'loss' }, direction: 'desc' },
  ],
  ['another metric: ascending', maximize, { sort: 'acc' }, { key: { kind: 'metric', name: 'acc' }, direction: 'asc' }],
  ['by column name', spec, { sort: 'metric.lr' }, { key: { kind: 'metric', name: 'lr' }, direction: 'asc' }],
  ['by metric name', spec, { sort: 'lr' }, { key: { kind: 'metric', name: 'lr' }, direction: 'asc' }],
  ['--desc', spec, { sort: 'loss', direction: 'desc' }, { key: { kind: 'metric', name: 'loss' }, direction: 'desc' }],
  ['--asc', maximize, { direction: 'asc' }, { key: { kind: 'best' }, direction: 'asc' }],
  ['no metric: by index', noMetric, {}, { key: { kind: 'index' }, direction: 'asc' }],
  ['no metric, --desc', noMetric, { direction: 'desc' }, { key: { kind: 'index' }, direction: 'desc' }],
];
const reported = [row(0, 0.5, { metrics: { loss: 0.5, acc: 0.9, lr: 0.05 } }), row(1, 0.2)];
for (const [what, sweep, options, expected] of orders) {
  test(`results sort order: ${what}`, () => assert.deepEqual(sortOrder(reported, sweep, options), expected));
}

const badSorts: [string, Parameters<typeof sortOrder>[1], readonly TrialRow[], string][] = [
  ['los', spec, reported, '--sort los: not a metric of this sweep; sort on one of: best, loss, acc, lr'],
  ['metric.los', spec, reported, '--sort metric.los: not a metric of this sweep; sort on one of: best, loss, acc, lr'],
  ['best', noMetric, reported, '--sort best: this sweep has no metric (its spec sets none), so no best'],
  [
    'loss',
    noMetric,
    [row(0, undefined)],
    '--sort loss: not a metric of this sweep; no trial has reported a metric yet',
  ],
];
for (const [sort, sweep, rows, message] of badSorts) {
  test(`--sort ${sort} is a usage error`, () =>
    assert.throws(() => sortOrder(rows, sweep, { sort }), new UsageError(message)));
}

test('results sort on the column named: numbers, then nan, then no value; ties by index', () => {
  const rows = [
    row(0, 0.5),
    row(1, 'nan'),
    row(2, 0.2),
    row(3, undefined, {}, 'failed'),
    row(4, 'inf'),
    row(5, '-inf'),
    row(6, 0.2),
  ];
  const sorted = (order: SortOrder) => sortRows(rows, order).map((r) => r.index);
  const onLoss = { kind: 'metric', name: 'loss' } as const;
  assert.deepEqual(sorted({ key: onLoss, direction: 'asc' }), [5, 2, 6, 0, 4, 1, 3]);
  assert.deepEqual(sorted({ key: onLoss, direction: 'desc' }), [4, 0, 2, 6, 5, 1, 3]);
  assert.deepEqual(sorted({ key: { kind: 'index' }, direction: 'desc' }), [6, 5, 4, 3, 2, 1, 0]);
  // A diverged trial keeps the best value it reached before; one that never had a finite value has no best.
  const diverged = [row(0, 0.3), row(1, 'nan', { best: 0.1 }), row(2, 'nan'), row(3, 0.2)];
  assert.deepEqual(
    sortRows(diverged, sortOrder(diverged, spec)).map((r) => r.index),
    [1, 3, 0, 2],
  );
  assert.deepEqual(
    sortRows(diverged, sortOrder(diverged, spec, { sort: 'loss' })).map((r) => r.index),
    [3, 0, 1, 2],
  );
  assert.deepEqual(
    sortRows(diverged, sortOrder(diverged, maximize)).map((r) => r.index),
    [0, 3, 1, 2],
  );
});

const causes: [string, Pick<TrialRow, 'cause' | 'error'>, string][] = [
  [
    'its cause first',
    { cause: 'ValueError: bad lr', error: 'exit 1 on q2; stderr ends:\nother' },
    'ValueError: bad lr',
  ],
  [
    'the last stderr line',
    { error: 'exit 1 on q2; stderr ends:\nTraceback (most recent call last):\n  File "t.py"\nValueError: bad lr\n\n' },
    'ValueError: bad lr',
  ],
  [
    'what killed it, then the last stderr line',
    { error: 'exit 137: killed (SIGKILL: out of memory, or killed by hand) on q2; stderr ends:\nepoch 3' },
    'killed (SIGKILL: out of memory, or killed by hand): epoch 3',
  ],
  [
    'a signal',
    { error: 'signal SIGSEGV: crashed (segmentation fault) on q2; stderr ends:\nloading' },
    'crashed (segmentation fault): loading',
  ],
  [
    'command not found: stderr says more',
    { error: 'exit 127: command not found on q2; stderr ends:\nsh: trian.py: not found' },
    'sh: trian.py: not found',
  ],
  ['no stderr', { error: 'exit 3 on w1' }, 'exit 3 on w1'],
  ['blank stderr', { error: 'exit 1 on q2; stderr ends:\n  \n' }, 'exit 1 on q2'],
  ['not a command failure', { error: 'timed out after 5s' }, 'timed out after 5s'],
  ['no error', {}, ''],
];
for (const [what, failure, expected] of causes) {
  test(`the error column shows the cause: ${what}`, () => assert.equal(trialCause(failure), expected));
}

const collide = specOf(
  'command: t\nmetric: {name: loss, goal: minimize}\nparameters: {lr: [0.1, 0.01], state: [a]}',
  {},
);
const shown: TrialRow[] = [
  row(2, 0.2, { params: { lr: 0.001, state: 'a' }, metrics: { loss: 0.2, lr: 0.0005 }, bestStep: 7 }),
  row(0, 'nan', { params: { lr: 0.1, state: 'a' }, best: 0.45, bestStep: 3, runtimeMs: 63_200 }),
  row(
    1,
    undefined,
    {
      params: { lr: 0.01, state: 'a' },
      exitCode: 1,
      error: 'exit 1 on q2; stderr ends:\nTraceback\nValueError: bad lr',
    },
    'failed',
  ),
  row(
    3,
    0.7,
    { params: { lr: 0.1, state: 'a' }, attempts: [], runtimeMs: 4200, worker: 'q1', exitCode: undefined },
    'running',
  ),
];

test('the results table: last and best of the sweep metric, distinct columns, nan, the cause', () => {
  assert.equal(
    formatResults(shown, collide, 'table'),
    [
      'trial  name     lr  param.state  state      exit  loss  best  best_step  metric.lr  runtime  attempts  worker      error',
      '    2  t002  0.001  a            succeeded     0   0.2   0.2          7     0.0005  1.5s            1  hostB-gpu1',
      '    0  t000    0.1  a            succeeded     0   nan  0.45          3             1m3s            1  hostB-gpu1',
      '    1  t001   0.01  a            failed        1                                                    1              ValueError: bad lr',
      '    3  t003    0.1  a            running           0.7   0.7                        4.2s            0  q1',
    ].join('\n'),
  );
});

test('a table for a terminal fits its width: one params column, cells cut with …, the least needed left out', () => {
  const full = formatResults(shown, collide, 'table');
  assert.equal(formatResults(shown, collide, 'table', 200), full, 'unchanged where it fits');
  assert.equal(
    formatResults(shown, collide, 'table', 80),
    [
      // Only the parameters that vary: `state` is `a` in every trial.
      'trial  params    state      loss  best  metric.lr  runtime  error',
      '    2  lr=0.001  succeeded   0.2   0.2     0.0005  1.5s',
      '    0  lr=0.1    succeeded   nan  0.45             1m3s',
      '    1  lr=0.01   failed                                     ValueError: bad lr',
      '    3  lr=0.1    running     0.7   0.7             4.2s',
      '(not shown at 80 columns: name, exit, best_step, attempts, worker)',
    ].join('\n'),
  );
  assert.match(formatResults(shown, collide, 'table', 100), / {2}ValueError: bad …\n/);
  for (let width = 10; width <= 130; width++) {
    for (const line of formatResults(shown, collide, 'table', width).split('\n'))
      assert.ok(line.length <= width, `${width} columns: ${JSON.stringify(line)}`);
  }
});

test('results CSV: plain numbers, the runtime in seconds, the same columns', () => {
  assert.equal(
    formatResults(shown, collide, 'csv'),
    [
      'trial,name,lr,param.state,state,exit,loss,best,best_step,metric.lr,runtime_s,attempts,worker,error',
      '2,t002,0.001,a,succeeded,0,0.2,0.2,7,0.0005,1.5,1,hostB-gpu1,',
      '0,t000,0.1,a,succeeded,0,nan,0.45,3,,63.2,1,hostB-gpu1,',
      '1,t001,0.01,a,failed,1,,,,,,1,,ValueError: bad lr',
      '3,t003,0.1,a,running,,0.7,0.7,,,4.2,0,q1,',
    ].join('\n'),
  );
  // Exact in CSV, rounded in the table; no best_step column when no trial reported steps.
  const precise = [row(0, 0.1 + 0.2, { best: 0.1 + 0.2, metrics: { loss: 0.1 + 0.2, acc: '-inf' } })];
  assert.equal(
    formatResults(precise, spec, 'csv'),
    'trial,name,lr,state,exit,loss,best,acc,runtime_s,attempts,worker,error\n' +
      '0,t000,0.1,succeeded,0,0.30000000000000004,0.30000000000000004,-inf,1.5,1,hostB-gpu1,',
  );
  assert.equal(
    formatResults(precise, spec, 'table'),
    'trial  name   lr  state      exit  loss  best   acc  runtime  attempts  worker      error\n' +
      '    0  t000  0.1  succeeded     0   0.3   0.3  -inf  1.5s            1  hostB-gpu1',
  );
});

test('results JSON Lines: each row as stored (non-finite metrics as strings), with its one-line cause', () => {
  const lines = formatResults(
    [shown[1], shown[2]].filter((r) => r !== undefined),
    collide,
    'json',
  ).split('\n');
  assert.deepEqual(
    lines.map((line) => JSON.parse(line) as TrialRow),
    [{ ...shown[1] }, { ...shown[2], cause: 'ValueError: bad lr' }],
  );
  assert.match(lines[0] ?? '', /"metrics":\{"loss":"nan"\}/);
});

test('a running trial shows what its last heartbeat says', () => {
  const queued = row(
    4,
    undefined,
    { attempts: [], exitCode: undefined, worker: undefined, runtimeMs: undefined },
    'queued',
  );
  const live = runningRow(
    { ...queued, attempts: [], metrics: {} },
    {
      index: 4,
      name: 't004',
      state: 'running',
      attempt: 1,
      worker: 'q3',
      startedAt: new Date(10_000),
      progress: { step: 5, metrics: { loss: 'nan' }, best: 0.4, bestStep: 2 },
    },
    72_000,
  );
  assert.deepEqual(live, {
    ...queued,
    state: 'running',
    metrics: { loss: 'nan' },
    best: 0.4,
    bestStep: 2,
    worker: 'q3',
    runtimeMs: 62_000,
  });
});

test('the Web UI link: SWEEP_UI_URL, else the dev server convention on loopback, else none', () => {
  const local = resolveConnectionConfig({}, {});
  assert.equal(webUiLink(local, 'a/b', {}), 'http://127.0.0.1:8233/namespaces/default/workflows/a%2Fb');
  const remote = resolveConnectionConfig({ address: 'temporal.lab:7233', namespace: 'ml' }, {});
  assert.equal(webUiLink(remote, 'x', {}), undefined);
  assert.equal(webUiLink(remote, 'x', { SWEEP_UI_URL: 'https://ui.lab/' }), 'https://ui.lab/namespaces/ml/workflows/x');
});
