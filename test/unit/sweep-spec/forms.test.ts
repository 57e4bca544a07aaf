import assert from 'node:assert/strict';
import { test } from 'node:test';
import { trialCount, trialParameters } from '../../../src/sweep-spec/expand.js';
import type { JsonValue } from '../../../src/sweep-spec/spec-types.js';
import { specOf } from '../../helpers/spec.js';

/** Every value a parameter takes across the sweep, in order (for one-parameter specs). */
function valuesOf(yaml: string): JsonValue[] {
  const spec = specOf(yaml);
  const name = spec.parameters[0]?.name ?? '';
  return Array.from({ length: trialCount(spec) }, (_, i) => trialParameters(spec, i)[name] ?? null);
}

const forms: { name: string; yaml: string; values: JsonValue[] }[] = [
  { name: 'integer scalar', yaml: 'batchsize: 100', values: [100] },
  { name: 'negative scalar', yaml: 'gpu: -1', values: [-1] },
  { name: 'quoted scalar', yaml: 'gpu: "-1"', values: ['-1'] },
  { name: 'float scalar (mlframework dropped these)', yaml: 'lr: 0.5', values: [0.5] },
  { name: 'null scalar (mlframework dropped these)', yaml: 'resume: null', values: [null] },
  { name: 'string scalar', yaml: 'optimizer: adam', values: ['adam'] },
  { name: 'date-like text stays text', yaml: 'tag: 2024-01-01', values: ['2024-01-01'] },
  { name: 'flag', yaml: 'verbose: true', values: [true] },
  { name: 'list', yaml: 'batchsize: [100, 500]', values: [100, 500] },
  { name: 'block list', yaml: 'opt:\n  - adam\n  - sgd', values: ['adam', 'sgd'] },
  { name: 'list of lists', yaml: 'layers: [[64, 64], [128]]', values: [[64, 64], [128]] },
  { name: 'tuple with step', yaml: 'epoch: !!python/tuple [5,20,5]', values: [5, 10, 15] },
  { name: 'tuple with default step 1', yaml: 'seed: !!python/tuple [0, 3]', values: [0, 1, 2] },
  {
    name: 'float tuple has clean values and no extra end',
    yaml: 'x: !!python/tuple [0, 1, 0.1]',
    values: [0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9],
  },
  { name: 'float tuple ending off the grid', yaml: 'x: !!python/tuple [0, 0.35, 0.1]', values: [0, 0.1, 0.2, 0.3] },
  { name: 'range (exclusive end)', yaml: 'x: {range: [1, 10, 3]}', values: [1, 4, 7] },
  { name: 'range inclusive', yaml: 'x: {range: [1, 10, 3], inclusive: true}', values: [1, 4, 7, 10] },
  { name: 'inclusive float range', yaml: 'x: {range: [0, 0.3, 0.1], inclusive: true}', values: [0, 0.1, 0.2, 0.3] },
  { name: 'value', yaml: 'x: {value: [1, 2]}', values: [[1, 2]] },
  { name: 'values', yaml: 'x: {values: [a, b, c]}', values: ['a', 'b', 'c'] },
  { name: 'linspace', yaml: 'x: {linspace: [0, 1, 5]}', values: [0, 0.25, 0.5, 0.75, 1] },
  { name: 'linspace of one', yaml: 'x: {linspace: [3, 9, 1]}', values: [3] },
  { name: 'logspace', yaml: 'lr: {logspace: [0.0001, 0.1, 4]}', values: [0.0001, 0.001, 0.01, 0.1] },
  { name: 'anchors and merge keys', yaml: 'a: &v [1, 2]\nb: 3', values: [1, 2] },
];

for (const form of forms) {
  test(`form: ${form.name}`, () => {
    assert.deepEqual(valuesOf(form.yaml), form.values);
  });
}

test('the Cartesian product is in file order, first key slowest, last fastest', () => {
  const spec = specOf('b: [1, 2]\na: [x, y, z]\nc: 0');
  assert.equal(trialCount(spec), 6);
  assert.deepEqual(
    Array.from({ length: 6 }, (_, i) => trialParameters(spec, i)),
    [
      { b: 1, a: 'x', c: 0 },
      { b: 1, a: 'y', c: 0 },
      { b: 1, a: 'z', c: 0 },
      { b: 2, a: 'x', c: 0 },
      { b: 2, a: 'y', c: 0 },
      { b: 2, a: 'z', c: 0 },
    ],
  );
});

test('the mlframework README example expands as documented', () => {
  const spec = specOf('gpu: -1\nbatchsize: [100, 500]\nepoch: !!python/tuple [5,20,5]\n');
  assert.equal(trialCount(spec), 6);
  assert.deepEqual(trialParameters(spec, 0), { gpu: -1, batchsize: 100, epoch: 5 });
  assert.deepEqual(trialParameters(spec, 5), { gpu: -1, batchsize: 500, epoch: 15 });
});

test('a million-trial grid is counted and indexed without being built', () => {
  const spec = specOf('a: {range: [0, 1000]}\nb: {range: [0, 1000]}');
  assert.equal(trialCount(spec), 1_000_000);
  assert.deepEqual(trialParameters(spec, 999_999), { a: 999, b: 999 });
  assert.deepEqual(trialParameters(spec, 123_456), { a: 123, b: 456 });
});

test('a sweep document with every section normalizes to the spec', () => {
  const spec = specOf(
    `name: lr-study
command: [python, train.py, --data, /data/my set]
method: random
samples: 4
seed: 7
metric: {name: val_loss, goal: minimize}
max_parallel: 3
retries: 2
non_retryable_exit_codes: [2]
pool: a100
timeout: 1h30m
resources: {gpus: 1, gpu_memory: 10GiB, cpus: 4, memory: 16GB}
env: {WANDB_MODE: offline, OMP_NUM_THREADS: 4}
workdir: /work/project
args: space
param_env: true
max_trials: 500
parameters:
  lr: {distribution: loguniform, min: 1.0e-5, max: 1.0e-1}
  batch_size: [32, 64]
`,
    {},
  );
  assert.deepEqual(spec, {
    name: 'lr-study',
    command: ['python', 'train.py', '--data', '/data/my set'],
    method: 'random',
    samples: 4,
    seed: 7,
    parameters: [
      { name: 'lr', type: 'random', distribution: { kind: 'loguniform', min: 1e-5, max: 0.1 } },
      { name: 'batch_size', type: 'grid', axis: { kind: 'values', values: [32, 64] } },
    ],
    metric: { name: 'val_loss', goal: 'minimize' },
    maxParallel: 3,
    retries: 2,
    nonRetryableExitCodes: [2],
    pool: 'a100',
    timeoutSeconds: 5400,
    resources: { gpus: 1, gpuMemoryMb: 10737, cpus: 4, memoryMb: 16000 },
    env: { WANDB_MODE: 'offline', OMP_NUM_THREADS: '4' },
    workdir: '/work/project',
    args: 'space',
    paramEnv: true,
    maxTrials: 500,
  });
  assert.equal(trialCount(spec), 8);
});

test('defaults of a bare mapping: grid, equals style, no retries, no resources asked', () => {
  const spec = specOf('x: [1, 2]');
  assert.equal(spec.method, 'grid');
  assert.equal(spec.samples, 1);
  assert.equal(spec.args, 'equals');
  assert.equal(spec.retries, 0);
  assert.deepEqual(spec.resources, {});
  assert.equal(spec.maxTrials, 1_000_000);
});

test('a command string is split like a shell would quote it, expanding nothing', () => {
  const spec = specOf(`command: python "my script.py" --tag 'a b' \\$HOME $(rm -rf x)\nparameters: {}`, {});
  assert.deepEqual(spec.command, ['python', 'my script.py', '--tag', 'a b', '$HOME', '$(rm', '-rf', 'x)']);
});

test('the command line overrides the file: command, args style, seed, samples, max_trials', () => {
  const yaml = 'command: [python, a.py]\nsamples: 2\nparameters: {x: {distribution: uniform, min: 0, max: 1}}';
  const spec = specOf(yaml, { command: ['python', 'b.py'], args: 'hydra', seed: 3, samples: 5, maxTrials: 10 });
  assert.deepEqual(
    [spec.command, spec.args, spec.seed, spec.samples, spec.maxTrials],
    [['python', 'b.py'], 'hydra', 3, 5, 10],
  );
});
