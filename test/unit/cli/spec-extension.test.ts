import assert from 'node:assert/strict';
import { test } from 'node:test';
import { extensionSteps } from '../../../src/cli/spec-extension.js';
import { parseSpec } from '../../../src/sweep-spec/load-spec.js';
import type { SweepSpec } from '../../../src/sweep-spec/spec-types.js';
import { growGrid } from '../../../src/workflows/grid-growth.js';

function specOf(yaml: string): SweepSpec {
  const parsed = parseSpec(yaml);
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
  return parsed.spec;
}

const running = specOf(
  'command: [train]\nsamples: 2\nparameters:\n  lr: [0.1, 0.2]\n  noise: {distribution: uniform, min: 0, max: 1}\n',
);

test('the file adds values, an axis and draws: the steps that add exactly those', () => {
  const file = specOf(
    'command: [train]\nsamples: 3\nparameters:\n  lr: [0.3, 0.1, 0.2]\n  noise: {distribution: uniform, min: 0, max: 1}\n  seed: [1, 2]\n',
  );
  assert.deepEqual(extensionSteps(running, file), {
    steps: [
      { kind: 'add-values', parameter: 'lr', values: [0.3] },
      { kind: 'add-parameter', parameter: 'seed', values: [1, 2] },
      { kind: 'add-samples', samples: 1 },
    ],
  });
  assert.deepEqual(extensionSteps(running, running), { steps: [] }, 'the same file adds nothing');
});

test('a grown sweep is compared as grown: what an edit added need not be added again', () => {
  const grown = growGrid(running, [{ kind: 'add-values', parameter: 'lr', values: [0.3] }], false);
  assert.ok(!('problem' in grown));
  const file = specOf(
    'command: [train]\nsamples: 2\nparameters:\n  lr: [0.1, 0.2, 0.3, 0.4]\n  noise: {distribution: uniform, min: 0, max: 1}\n',
  );
  assert.deepEqual(extensionSteps(grown.spec, file), {
    steps: [{ kind: 'add-values', parameter: 'lr', values: [0.4] }],
  });
});

test('what the file would take away or change is refused, each by its key', () => {
  const file = specOf(
    'command: [train, --fast]\nsamples: 1\nparameters:\n  lr: [0.2]\n  noise: {distribution: uniform, min: 0, max: 2}\n  warmup: 100\n',
  );
  assert.deepEqual(extensionSteps(running, file), {
    problems: [
      "command: differs from the running sweep's",
      'parameters.lr: 0.1 ran in the sweep but is not in the file',
      "parameters.noise: differs from the running sweep's",
      'parameters.warmup: a new parameter needs two or more plain values (the trials so far count as the first)',
      "samples: 1, fewer than the sweep's 2",
    ],
  });
  const dropped = specOf('command: [train]\nsamples: 2\nparameters:\n  lr: [0.1, 0.2]\n');
  assert.deepEqual(extensionSteps(running, dropped), {
    problems: ['parameters.noise: the running sweep has it; a sweep only grows'],
  });
});
