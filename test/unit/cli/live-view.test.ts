import assert from 'node:assert/strict';
import { test } from 'node:test';
import { stripVTControlCharacters } from 'node:util';
import { liveViewLines, type LiveSnapshot } from '../../../src/cli/live-view.js';
import type { LiveTrial } from '../../../src/cli/sweep-client.js';
import type { SweepProgress } from '../../../src/workflows/types.js';

const NOW = 1_700_000_100_000;

const progress = (counts: Partial<SweepProgress['counts']>, extra: Partial<SweepProgress> = {}): SweepProgress => ({
  sweepId: 'lr-search-20261202-ab12',
  state: 'running',
  counts: { total: 10, succeeded: 0, failed: 0, cancelled: 0, ...counts },
  running: [],
  nextIndex: 0,
  startedAt: NOW - 65_000,
  runs: 1,
  updateVersion: 0,
  ...extra,
});

const running = (index: number, worker: string, step: number): LiveTrial => ({
  index,
  name: `lr=0.${index}-with-a-rather-long-trial-name-that-goes-on-and-on-${'x'.repeat(60)}`,
  state: 'running',
  worker,
  progress: { step, metrics: { loss: 1 / step, accuracy: 0.5 + step / 100 } },
});

const snapshot = (extra: Partial<LiveSnapshot> = {}): LiveSnapshot => ({
  progress: progress({ succeeded: 4, failed: 1 }, { running: [5, 6, 7], best: { index: 2, value: 0.125 } }),
  live: [running(5, 'gpu-b', 12), running(6, 'gpu-a', 3), { index: 7, name: 'lr=0.7', state: 'queued' }],
  finished: [
    { index: 4, name: 'lr=0.4', state: 'failed', runtimeMs: 20_000, cause: 'boom: trial x=4 fails on purpose' },
    { index: 3, name: 'lr=0.3', state: 'succeeded', runtimeMs: 10_000 },
    { index: 2, name: 'lr=0.2', state: 'succeeded', runtimeMs: 10_000 },
    { index: 1, name: 'lr=0.1', state: 'succeeded', runtimeMs: 10_000 },
    { index: 0, name: 'lr=0.0', state: 'succeeded', runtimeMs: 10_000 },
  ],
  best: { index: 2, value: 0.125, params: { lr: 0.2, optimizer: 'adam', note: 'ünïcode' } },
  notes: [],
  now: NOW,
  columns: 80,
  rows: 40,
  colour: false,
  ...extra,
});

test('every line fits the terminal, coloured or not', () => {
  for (const columns of [40, 80, 200]) {
    for (const colour of [false, true]) {
      const lines = liveViewLines(snapshot({ columns, colour }));
      const plain = lines.map(stripVTControlCharacters);
      for (const line of plain) assert.ok(line.length <= columns, `${columns} columns: ${JSON.stringify(line)}`);
      assert.ok(
        plain.every((line) => /^[\x20-\x7e]*$/.test(line)),
        'ASCII only',
      );
    }
  }
});

test('the bar, the counts, the best trial, a lane per worker and the failures', () => {
  const lines = liveViewLines(snapshot({ columns: 200 }));
  assert.deepEqual(lines.slice(0, 5), [
    'sweep lr-search-20261202-ab12',
    `[${'#'.repeat(12)}${'x'.repeat(3)}${'-'.repeat(15)}] 5/10`,
    '4 done  2 running  3 queued  1 failed',
    // Mean runtime 12 s, 5 left on 2 slots: 3 rounds.
    'elapsed 1m5s, ETA 36.0s',
    'best 0.125 (trial 2) lr=0.2 optimizer="adam" note="?n?code"',
  ]);
  assert.match(lines[5] ?? '', /^gpu-a trial 6 lr=0\.6-with.* step 3 loss=0\.333333333333 accuracy=0\.53$/);
  assert.match(lines[6] ?? '', /^gpu-b trial 5 lr=0\.5-with.* step 12 /);
  assert.equal(lines[7], 'failed trial 4 lr=0.4: boom: trial x=4 fails on purpose');
  assert.equal(lines.length, 8);
});

test('the ETA is unknown until a trial has finished, and gone once the sweep has ended', () => {
  const fresh = snapshot({ progress: progress({}), finished: [], live: [] });
  assert.equal(liveViewLines(fresh)[3], 'elapsed 1m5s, ETA ?');
  const ended = liveViewLines(
    snapshot({ progress: progress({ succeeded: 8, failed: 2 }, { state: 'failed' }), live: [] }),
  );
  assert.equal(ended[0], 'sweep lr-search-20261202-ab12 failed');
  assert.equal(ended[1], `[${'#'.repeat(24)}${'x'.repeat(6)}] 10/10`);
  assert.equal(ended[2], '8 done  0 running  0 queued  2 failed');
  assert.equal(ended[3], 'elapsed 1m5s');
});

test('colour only when asked for', () => {
  assert.ok(liveViewLines(snapshot()).every((line) => !line.includes('\x1b')));
  const coloured = liveViewLines(snapshot({ colour: true }));
  assert.equal(coloured[2]?.startsWith('\x1b[32m4 done\x1b[0m'), true);
});

test('notes (no worker, waiting trials) get a line each', () => {
  const lines = liveViewLines(snapshot({ notes: ['no worker has polled pool "p" for 60 s'] }));
  assert.equal(lines[5], 'no worker has polled pool "p" for 60 s');
});

test('a frame never outgrows the terminal: lanes give way to a count of them, failures stay', () => {
  const live = Array.from({ length: 12 }, (_, index) =>
    running(index + 20, `gpu-${String(index).padStart(2, '0')}`, 1),
  );
  const lines = liveViewLines(snapshot({ live, rows: 12, columns: 200 }));
  // Header, bar, counts, timing, best; 11 rows in all, the last free for the cursor.
  assert.equal(lines.length, 11);
  assert.match(lines[5] ?? '', /^gpu-00 trial 20 /);
  assert.match(lines[8] ?? '', /^gpu-03 trial 23 /);
  assert.equal(lines[9], '... 8 more running');
  assert.equal(lines[10], 'failed trial 4 lr=0.4: boom: trial x=4 fails on purpose');
  assert.equal(liveViewLines(snapshot({ live, rows: 3 })).length, 2);
});
