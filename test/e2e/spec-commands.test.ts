import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { runSweep, startProcess, SWEEP_BIN } from '../helpers/processes.js';
import { tempDir } from '../helpers/temporal.js';

function specFile(text: string): string {
  const file = join(tempDir('spec'), 'parameters.yml');
  writeFileSync(file, text);
  return file;
}

test('sweep validate prints the count and the first rendered commands of the README example', async () => {
  const result = await runSweep(['validate', 'examples/parameters.yml', '--show', '3', '--', 'python', 'train.py']);
  assert.equal(result.code, 0, result.stderr);
  assert.equal(
    result.stdout,
    [
      'examples/parameters.yml: valid; 6 trial(s), grid',
      'parameters, first varying slowest: gpu (fixed), batchsize (2 values), epoch (3 values)',
      'resources per trial: one slot of whatever the worker has (a GPU, or a CPU slot on a CPU worker)',
      '  t000_batchsize=100_epoch=5: python train.py --gpu=-1 --batchsize=100 --epoch=5',
      '  t001_batchsize=100_epoch=10: python train.py --gpu=-1 --batchsize=100 --epoch=10',
      '  t002_batchsize=100_epoch=15: python train.py --gpu=-1 --batchsize=100 --epoch=15',
      '  … 3 more (sweep expand lists them all)',
      '',
    ].join('\n'),
  );
});

test("sweep validate previews a worker-class spec's trials as run() calls of its class", async () => {
  const result = await runSweep(['validate', 'sweep.yml', '--show', '2'], { cwd: 'examples/worker_class' });
  assert.equal(result.code, 0, result.stderr);
  assert.equal(
    result.stdout,
    [
      'sweep.yml: valid; 6 trial(s), grid',
      'parameters, first varying slowest: lr (3 values), batch_size (2 values)',
      'resources per trial: one slot of whatever the worker has (a GPU, or a CPU slot on a CPU worker)',
      '  t000_lr=0.001_batch_size=32: trainer:Trainer.run(lr=0.001, batch_size=32)',
      '  t001_lr=0.001_batch_size=64: trainer:Trainer.run(lr=0.001, batch_size=64)',
      '  … 4 more (sweep expand lists them all)',
      '',
    ].join('\n'),
  );
});

test('sweep validate reports every problem, located, and exits 2', async () => {
  const file = specFile('batchsize: []\nepoch: !!python/tuple [5, 20, 0]\n');
  const result = await runSweep(['validate', file, '--', 'python', 'train.py']);
  assert.equal(result.code, 2);
  assert.equal(
    result.stderr,
    `${file}:1:12 batchsize: empty list: give at least one value\n${file}:2:8 epoch: interval step must be > 0, got 0\n`,
  );
  assert.equal(result.stdout, '');
});

test('a missing spec file is a one-line error with exit 2', async () => {
  const result = await runSweep(['validate', 'no/such.yml', '--', 'x']);
  assert.equal(result.code, 2);
  assert.equal(result.stderr, 'no/such.yml: cannot read the spec: no such file\n');
});

test('sweep expand streams JSON Lines and CSV; --space style is the CLI override', async () => {
  const json = await runSweep(['expand', 'examples/parameters.yml', '--args', 'space', '--', 'train']);
  assert.equal(json.code, 0, json.stderr);
  const rows = json.stdout
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as { index: number; argv: string[] });
  assert.equal(rows.length, 6);
  assert.deepEqual(rows[5], {
    index: 5,
    name: 't005_batchsize=500_epoch=15',
    params: { gpu: -1, batchsize: 500, epoch: 15 },
    argv: ['train', '--gpu', '-1', '--batchsize', '500', '--epoch', '15'],
  });
  const csv = await runSweep(['expand', 'examples/parameters.yml', '--format', 'csv', '--', 'python', 'my train.py']);
  assert.equal(csv.code, 0, csv.stderr);
  const lines = csv.stdout.trim().split('\n');
  assert.equal(lines[0], 'index,name,gpu,batchsize,epoch,command');
  assert.equal(
    lines[1],
    "0,t000_batchsize=100_epoch=5,-1,100,5,python 'my train.py' --gpu=-1 --batchsize=100 --epoch=5",
  );
  assert.equal(lines.length, 7);
});

test('sweep expand of a 100,000-trial grid streams every row and stops quietly when the reader does', async () => {
  const file = specFile('a: {range: [0, 1000]}\nb: {range: [0, 100]}\n');
  const full = await runSweep(['expand', file, '--format', 'csv', '--', 't']);
  assert.equal(full.code, 0);
  assert.equal(full.stdout.split('\n').length - 2, 100_000);
  const early = startProcess('/bin/bash', [
    '-o',
    'pipefail',
    '-c',
    `node ${SWEEP_BIN} expand ${file} -- t | head -n 2`,
  ]);
  assert.deepEqual(await early.exited, { code: 0, signal: null });
  assert.equal(early.stdout.split('\n').length, 3);
  assert.equal(early.stderr, '');
});
