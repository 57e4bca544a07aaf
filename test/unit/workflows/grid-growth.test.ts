import assert from 'node:assert/strict';
import { test } from 'node:test';
import { countedParameters, trialCount } from '../../../src/sweep-spec/expand.js';
import { parseSpec } from '../../../src/sweep-spec/load-spec.js';
import { renderTrial } from '../../../src/sweep-spec/render.js';
import type { SweepSpec } from '../../../src/sweep-spec/spec-types.js';
import { growGrid, type GridStep } from '../../../src/workflows/grid-growth.js';

function specOf(yaml: string): SweepSpec {
  const parsed = parseSpec(yaml);
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
  return parsed.spec;
}

const grid = specOf('command: python train.py\nparameters:\n  lr: [0.1, 0.2]\n  bs: [32, 64]\n');

function grown(spec: SweepSpec, ...steps: GridStep[]): SweepSpec {
  const result = growGrid(spec, steps, false);
  if ('problem' in result) throw new Error(result.problem);
  return result.spec;
}

const problemOf = (spec: SweepSpec, ...steps: GridStep[]) => {
  const result = growGrid(spec, steps, false);
  return 'problem' in result ? result.problem : undefined;
};

const trials = (spec: SweepSpec) => Array.from({ length: trialCount(spec) }, (_, index) => renderTrial(spec, index));
const points = (spec: SweepSpec) => trials(spec).map((trial) => JSON.stringify(trial.params));

test('new values on an axis add exactly the new combinations; the trials so far keep index, parameters and name', () => {
  const before = trials(grid);
  const wider = grown(grid, { kind: 'add-values', parameter: 'lr', values: [0.3, 0.5] });
  assert.equal(trialCount(wider), 8);
  assert.deepEqual(trials(wider).slice(0, 4), before);
  assert.deepEqual(
    trials(wider)
      .slice(4)
      .map((trial) => trial.params),
    [
      { lr: 0.3, bs: 32 },
      { lr: 0.3, bs: 64 },
      { lr: 0.5, bs: 32 },
      { lr: 0.5, bs: 64 },
    ],
  );
  assert.equal(renderTrial(wider, 4).name, 't004_lr=0.3_bs=32');
  assert.deepEqual(wider.parameters[0], {
    name: 'lr',
    type: 'grid',
    axis: { kind: 'values', values: [0.1, 0.2, 0.3, 0.5] },
  });
  // Then a second axis: the product of both grown axes, every point once.
  const both = grown(wider, { kind: 'add-values', parameter: 'bs', values: [128] });
  assert.equal(trialCount(both), 12);
  assert.equal(new Set(points(both)).size, 12);
  assert.deepEqual(points(both).slice(0, 8), points(wider));
  // Two steps in one edit make the same trials as two edits.
  const once = grown(
    grid,
    { kind: 'add-values', parameter: 'lr', values: [0.3, 0.5] },
    { kind: 'add-values', parameter: 'bs', values: [128] },
  );
  assert.deepEqual(points(once), points(both));
});

test('a grown range axis lists its values; a sweep grown past 1000 trials keeps its first names', () => {
  const ranged = specOf('command: [run]\nparameters:\n  x: {range: [0, 10]}\n');
  const before = trials(ranged).map((trial) => trial.name);
  const big = grown(ranged, {
    kind: 'add-parameter',
    parameter: 'seed',
    values: Array.from({ length: 101 }, (_, k) => k),
  });
  assert.equal(trialCount(big), 1010);
  assert.deepEqual(
    trials(big)
      .slice(0, 10)
      .map((trial) => trial.name),
    before,
  );
  assert.equal(renderTrial(big, 1009).name, 't1009_x=9_seed=100');
  const more = grown(ranged, { kind: 'add-values', parameter: 'x', values: [10] });
  assert.deepEqual(renderTrial(more, 10).params, { x: 10 });
});

test('a new axis: the trials so far are its first value and run as before; the rest are new', () => {
  const seeded = grown(grid, { kind: 'add-parameter', parameter: 'seed', values: [1, 2, 3] });
  assert.equal(trialCount(seeded), 12);
  assert.deepEqual(trials(seeded).slice(0, 4), trials(grid), 'their commands are as they were');
  assert.deepEqual(
    trials(seeded)
      .slice(4)
      .map((trial) => trial.params.seed),
    [2, 3, 2, 3, 2, 3, 2, 3],
    'the new axis is the last: it varies fastest',
  );
  assert.deepEqual(renderTrial(seeded, 4).argv, ['python', 'train.py', '--lr=0.1', '--bs=32', '--seed=2']);
  // A later --add combines with the new axis's every value, the first included.
  const wider = grown(seeded, { kind: 'add-values', parameter: 'bs', values: [128] });
  assert.deepEqual(
    trials(wider)
      .slice(12)
      .map((trial) => [trial.params.bs, trial.params.seed]),
    [128, 128, 128, 128, 128, 128].map((bs, k) => [bs, [1, 2, 3][k % 3]]),
  );
});

test('more samples draw new random values at the new indices; the draws so far stay', () => {
  const random = specOf(
    'command: [run]\nsamples: 3\nseed: 7\nparameters:\n  lr: {distribution: loguniform, min: 1e-4, max: 1e-1}\n  bs: [32, 64]\n',
  );
  const more = grown(random, { kind: 'add-samples', samples: 2 });
  assert.equal(trialCount(more), 10);
  assert.equal(more.samples, 5);
  assert.deepEqual(trials(more).slice(0, 6), trials(random));
  assert.equal(new Set(points(more)).size, 10, 'every draw is new');
});

test('a grow that cannot be says why, and names what was expected', () => {
  const random = specOf('command: [run]\nsamples: 2\nparameters:\n  lr: {distribution: uniform, min: 0, max: 1}\n');
  assert.equal(
    problemOf(grid, { kind: 'add-values', parameter: 'lrr', values: [1] }),
    '--add lrr: the sweep has no parameter lrr (its parameters: lr, bs)',
  );
  assert.match(
    problemOf(random, { kind: 'add-values', parameter: 'lr', values: [1] }) ?? '',
    /a random parameter has no values/,
  );
  assert.equal(
    problemOf(grid, { kind: 'add-values', parameter: 'lr', values: [0.2] }),
    '--add lr: 0.2 is already on the axis',
  );
  assert.equal(
    problemOf(grid, { kind: 'add-values', parameter: 'lr', values: [0.4, 0.4] }),
    '--add lr: 0.4 is already on the axis',
  );
  assert.equal(
    problemOf(grid, { kind: 'add-values', parameter: 'lr', values: [] }),
    '--add lr: expected at least one value',
  );
  assert.match(
    problemOf(grid, { kind: 'add-values', parameter: 'lr', values: [[1]] } as unknown as GridStep) ?? '',
    /expected numbers, strings/,
  );
  assert.match(problemOf(grid, { kind: 'add-parameter', parameter: 'lr', values: [1, 2] }) ?? '', /has it already/);
  assert.match(
    problemOf(grid, { kind: 'add-parameter', parameter: 'seed', values: [1] }) ?? '',
    /then the new ones \(seed=1,2\)/,
  );
  assert.match(
    problemOf(grid, { kind: 'add-parameter', parameter: '--x', values: [1, 2] }) ?? '',
    /a parameter name is/,
  );
  assert.match(problemOf(grid, { kind: 'add-samples', samples: 2 }) ?? '', /no random parameter/);
  assert.match(problemOf(random, { kind: 'add-samples', samples: 0 }) ?? '', /at least 1/);
  assert.equal(problemOf(grid), 'nothing to add: give --add, --add-param or --samples');
  const capped = specOf('command: [run]\nmax_trials: 5\nparameters:\n  lr: [1, 2]\n  bs: [1, 2]\n');
  assert.match(
    problemOf(capped, { kind: 'add-values', parameter: 'lr', values: [3] }) ?? '',
    /6 trials, more than the sweep's max_trials \(5\)/,
  );
  const listed = specOf('command: [run]\ntrials:\n  - {lr: 1}\n');
  assert.match(problemOf(listed, { kind: 'add-values', parameter: 'lr', values: [2] }) ?? '', /listed trials/);
  const subset = growGrid(grid, [{ kind: 'add-values', parameter: 'lr', values: [0.3] }], true);
  assert.ok('problem' in subset && /retries some trials/.test(subset.problem));
});

test("results count a trial that ran before --add-param as the new axis's first value; others as they ran", () => {
  const seeded = grown(grid, { kind: 'add-parameter', parameter: 'seed', values: [1, 2] });
  assert.deepEqual(countedParameters(seeded, { lr: 0.1, bs: 32 }), { seed: 1, lr: 0.1, bs: 32 });
  assert.deepEqual(countedParameters(seeded, { lr: 0.1, bs: 32, seed: 2 }), { lr: 0.1, bs: 32, seed: 2 });
  assert.deepEqual(countedParameters(grid, { lr: 0.1 }), { lr: 0.1 }, 'a sweep never grown shows what ran');
});

test("a rerun is a block of one with the trial's very parameters, its random draws included", () => {
  const random = specOf(
    'command: [run]\nsamples: 2\nparameters:\n  lr: {distribution: uniform, min: 0, max: 1}\n  bs: [32, 64]\n',
  );
  const again = grown(random, { kind: 'rerun', index: 3 });
  assert.equal(trialCount(again), 5);
  assert.deepEqual(renderTrial(again, 4).params, renderTrial(random, 3).params);
  assert.deepEqual(trials(again).slice(0, 4), trials(random));
  assert.deepEqual(again.parameters, random.parameters, 'the grid itself is as it was');
  assert.match(problemOf(random, { kind: 'rerun', index: 4 }) ?? '', /trial 4: the sweep has no such trial/);
});
