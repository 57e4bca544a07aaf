import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { SpecOverrides } from '../../../src/sweep-spec/load-spec.js';
import { problemsOf } from '../../helpers/spec.js';

const cases: { name: string; yaml: string; overrides?: SpecOverrides; problems: string[] }[] = [
  {
    name: 'priority and weight out of range',
    yaml: 'priority: 7\nweight: 0\nparameters:\n  x: [1]',
    problems: [
      'parameters.yml:1:11 priority: must be <= 5, got 7',
      'parameters.yml:2:9 weight: must be >= 0.01, got 0',
    ],
  },
  {
    name: 'zero interval step (the issue example)',
    yaml: 'batchsize: [100, 500]\ngpu: 0\nlr: 0.1\nepoch: !!python/tuple [5, 20, 0]',
    problems: ['parameters.yml:4:8 epoch: interval step must be > 0, got 0'],
  },
  {
    name: 'negative interval step',
    yaml: 'epoch: !!python/tuple [5, 20, -5]',
    problems: ['parameters.yml:1:8 epoch: interval step must be > 0, got -5'],
  },
  {
    name: 'reversed interval',
    yaml: 'epoch: !!python/tuple [20, 5]',
    problems: ['parameters.yml:1:8 epoch: reversed interval: start 20 must be below end 5'],
  },
  {
    name: 'empty interval',
    yaml: 'epoch: !!python/tuple [5, 5]',
    problems: ['parameters.yml:1:8 epoch: reversed interval: start 5 must be below end 5'],
  },
  {
    name: 'reversed inclusive range',
    yaml: 'x: {range: [3, 1], inclusive: true}',
    problems: ['parameters.yml:1:12 x.range: reversed interval: start 3 must be at most end 1'],
  },
  {
    name: 'interval with text',
    yaml: 'epoch: !!python/tuple [5, ten]',
    problems: ['parameters.yml:1:8 epoch: expected [start, end] or [start, end, step] numbers, got [5, "ten"]'],
  },
  {
    name: 'interval with four items',
    yaml: 'epoch: !!python/tuple [1, 2, 3, 4]',
    problems: ['parameters.yml:1:8 epoch: expected [start, end] or [start, end, step] numbers, got [1, 2, 3, 4]'],
  },
  {
    name: 'infinite and NaN values',
    yaml: 'a: [1, .inf]\nb: .nan\nc: !!python/tuple [0, .inf]',
    problems: [
      'parameters.yml:1:8 a[1]: expected a finite number, got Infinity',
      'parameters.yml:2:4 b: expected a finite number, got NaN',
      'parameters.yml:3:4 c: expected [start, end] or [start, end, step] numbers, got [0, Infinity]',
    ],
  },
  {
    name: 'empty list',
    yaml: 'batchsize: []',
    problems: ['parameters.yml:1:12 batchsize: empty list: give at least one value'],
  },
  {
    name: 'unknown tag, reported with the other problems',
    yaml: 'model: !!python/object:os.system [ls]\nbatchsize: []',
    problems: [
      "parameters.yml:1:8 model: unknown tag !!python/object:os.system: Sweep accepts YAML's standard tags and !!python/tuple",
      'parameters.yml:2:12 batchsize: empty list: give at least one value',
    ],
  },
  {
    name: 'unknown local tag',
    yaml: 'x: !custom 3',
    problems: ["parameters.yml:1:4 x: unknown tag !custom: Sweep accepts YAML's standard tags and !!python/tuple"],
  },
  { name: 'duplicate key', yaml: 'lr: 0.1\nlr: 0.2', problems: ['parameters.yml:2:1 invalid YAML: duplicate key'] },
  {
    name: 'broken YAML',
    yaml: 'lr: [0.1, 0.2',
    problems: ['parameters.yml:2:1 invalid YAML: unexpected end of the stream within a flow collection'],
  },
  {
    name: 'parameter name that cannot be an option',
    yaml: 'learning rate: 0.1\n--lr: 0.2',
    problems: [
      'parameters.yml:1:1 learning rate: parameter name cannot be an option name: use letters, digits, "_", "-" and ".", starting with a letter or "_"',
      'parameters.yml:2:1 --lr: parameter name cannot be an option name: use letters, digits, "_", "-" and ".", starting with a letter or "_"',
    ],
  },
  {
    name: 'missing command',
    yaml: 'lr: 0.1',
    overrides: {},
    problems: [
      'parameters.yml: no command: give it after "--" (sweep start parameters.yml -- python train.py) or as command: in a sweep document',
    ],
  },
  {
    name: 'empty command after --',
    yaml: 'lr: 0.1',
    overrides: { command: [] },
    problems: ['parameters.yml: empty command after "--"'],
  },
  {
    name: 'empty file',
    yaml: '',
    problems: ['parameters.yml: empty file: expected a mapping of parameters or a sweep document with parameters:'],
  },
  {
    name: 'a list at the top',
    yaml: '- 1\n- 2',
    problems: [
      'parameters.yml: expected a mapping of parameters or a sweep document with parameters:, got a list of 2',
    ],
  },
  {
    name: 'a document without parameters:',
    yaml: 'command: python train.py\nlr: [1, 2]',
    overrides: {},
    problems: [
      'parameters.yml:1:1 command: "command" belongs to a sweep document, which needs a parameters: section for the parameters',
    ],
  },
  {
    name: 'misspelt document key, with the other problems',
    yaml: 'command: python t.py\nmethod: random\nsmaples: 4\nparameters:\n  lr: {distribution: unifrom, min: 0, max: 1}',
    overrides: {},
    problems: [
      'parameters.yml:2:9 method: random search needs samples: N (draws per grid point)',
      'parameters.yml:3:1 smaples: unknown key; did you mean "samples"?',
      'parameters.yml:5:22 parameters.lr.distribution: unknown distribution "unifrom"; did you mean "uniform"?',
    ],
  },
  {
    name: 'wrong types in a document',
    yaml: 'command: [python, {a: 1}]\nmethod: bayes\nsamples: 2.5\nretries: -1\ntimeout: soon\nresources: {gpus: many, disk: 3}\nparameters: {x: 1}',
    overrides: {},
    problems: [
      'parameters.yml:1:10 command: expected a string or a list of strings, got a list of 2',
      'parameters.yml:2:9 method: expected one of: grid, random, got "bayes"',
      'parameters.yml:3:10 samples: expected a whole number, got 2.5',
      'parameters.yml:4:10 retries: must be >= 0, got -1',
      'parameters.yml:5:10 timeout: expected a duration like 90s, 30m or 2h, got "soon"',
      'parameters.yml:6:19 resources.gpus: expected a number, got "many"',
      'parameters.yml:6:25 resources.disk: unknown key; expected one of: gpus, gpu_memory, gpu_share, gpu_utilization, cpus, memory, reserve, labels',
    ],
  },
  {
    name: 'metric goal and bad size',
    yaml: 'command: t\nmetric: {name: loss, goal: lowest}\nresources: {memory: 16 bananas}\nparameters: {}',
    overrides: {},
    problems: [
      'parameters.yml:2:28 metric.goal: expected one of: minimize, maximize, got "lowest"',
      'parameters.yml:3:21 resources.memory: expected a size like 16GiB, 512MB or 8000 (MB), got "16 bananas"',
    ],
  },
  {
    name: 'distribution in a grid sweep',
    yaml: 'method: grid\ncommand: t\nparameters:\n  lr: {distribution: uniform, min: 0, max: 1}',
    overrides: {},
    problems: [
      "parameters.yml:4:22 parameters.lr.distribution: a distribution needs method: random (with samples: N); this sweep's method is grid",
    ],
  },
  {
    name: 'distribution without samples',
    yaml: 'lr: {distribution: uniform, min: 0, max: 1}',
    problems: ['parameters.yml: random search needs samples: N (draws per grid point)'],
  },
  {
    name: 'bad distribution bounds',
    yaml: 'a: {distribution: uniform, min: 1, max: 0}\nb: {distribution: loguniform, min: 0, max: 1}\nc: {distribution: normal, mu: 0, sigma: 0}\nd: {distribution: int, min: 1.5, max: 3}',
    overrides: { command: ['t'], samples: 2 },
    problems: [
      'parameters.yml:1:4 a: min must be below max, got min 1 and max 0',
      'parameters.yml:2:36 b.min: must be > 0, got 0',
      'parameters.yml:3:41 c.sigma: must be > 0, got 0',
      'parameters.yml:4:29 d.min: expected a whole number, got 1.5',
    ],
  },
  {
    name: 'choice weights',
    yaml: 'a: {distribution: choice, values: [x, y], weights: [1]}\nb: {distribution: choice, values: [x], weights: [0]}',
    overrides: { command: ['t'], samples: 2 },
    problems: [
      'parameters.yml:1:52 a.weights: expected 2 weights, one per value, got 1',
      'parameters.yml:2:49 b.weights: at least one weight must be > 0',
    ],
  },
  {
    name: 'unknown and conflicting keys in a parameter mapping',
    yaml: 'a: {valeus: [1]}\nb: {value: 1, values: [1]}\nc: {range: [0, 1], step: 1}',
    problems: [
      'parameters.yml:1:4 a: expected one of the keys value, values, range, linspace, logspace, distribution (or a value, a list or !!python/tuple)',
      'parameters.yml:2:4 b: use only one of value, values',
      'parameters.yml:3:20 c.step: unknown key; expected one of: range, inclusive',
    ],
  },
  {
    name: 'bad linspace and logspace',
    yaml: 'a: {linspace: [0, 1, 0]}\nb: {logspace: [0, 1, 3]}',
    problems: [
      'parameters.yml:1:22 a.linspace[2]: must be >= 1, got 0',
      'parameters.yml:2:16 b.logspace[0]: must be > 0, got 0',
    ],
  },
  {
    name: 'tuple nested in a list',
    yaml: 'a: [1, !!python/tuple [1, 2]]',
    problems: ["parameters.yml:1:8 a[1]: !!python/tuple is an interval and may only be a parameter's whole value"],
  },
  {
    name: 'grid over the cap',
    yaml: 'a: {range: [0, 2000]}\nb: {range: [0, 1000]}',
    problems: [
      'parameters.yml: the sweep has 2,000,000 trials, more than max_trials (1,000,000); raise max_trials or narrow the grid',
    ],
  },
  {
    name: 'grid over a configured cap in a document',
    yaml: 'command: t\nmax_trials: 3\nparameters:\n  a: [1, 2]\n  b: [1, 2]',
    overrides: {},
    problems: [
      'parameters.yml:4:3 parameters: the sweep has 4 trials, more than max_trials (3); raise max_trials or narrow the grid',
    ],
  },
  {
    name: 'unknown placeholder',
    yaml: 'command: [python, t.py, --out, "{outdir}/x"]\nparameters: {lr: 1}',
    overrides: {},
    problems: [
      'parameters.yml:1:32 command[3]: unknown placeholder {outdir} in "{outdir}/x": not a parameter or one of trial_index, trial_name, trial_dir, sweep_id (write {{ and }} for literal braces)',
    ],
  },
  {
    name: 'unterminated quote in a command string',
    yaml: "command: python 't.py\nparameters: {}",
    overrides: {},
    problems: ['parameters.yml:1:10 command: unterminated single quote in command'],
  },
  {
    name: 'bad env names and colliding parameter variables',
    yaml: 'command: t\nenv: {"BAD-NAME": 1}\nparam_env: true\nparameters:\n  batch-size: 1\n  batch_size: 2',
    overrides: {},
    problems: [
      'parameters.yml:2:7 env.BAD-NAME: not a valid environment variable name',
      'parameters.yml:6:3 parameters.batch_size: both "batch-size" and this parameter become SWEEP_PARAM_BATCH_SIZE',
    ],
  },
];

for (const { name, yaml, overrides, problems } of cases) {
  test(`error: ${name}`, () => {
    assert.deepEqual(problemsOf(yaml, overrides), problems);
  });
}
