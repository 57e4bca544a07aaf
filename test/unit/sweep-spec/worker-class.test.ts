// The keys of worker-class and listed-trial sweeps: `worker_class:` with its `init:`, and `trials:`.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { trialCount, trialParameters } from '../../../src/sweep-spec/expand.js';
import { parseSpec, type SpecOverrides } from '../../../src/sweep-spec/load-spec.js';
import { formatPath, formatProblem } from '../../../src/sweep-spec/problems.js';
import { renderTrial } from '../../../src/sweep-spec/render.js';
import type { SweepSpec } from '../../../src/sweep-spec/spec-types.js';

/** A spec that must be valid; no command is given unless the caller gives one. */
function valid(yaml: string, overrides: SpecOverrides = {}): SweepSpec {
  const result = parseSpec(yaml, overrides);
  if (!result.ok) throw new Error(result.problems.map((problem) => formatProblem('spec.yml', problem)).join('\n'));
  return result.spec;
}

/** The problems of a spec that must be invalid, as `path: message` (the path `` for the whole file). */
function problems(yaml: string, overrides: SpecOverrides = {}): string[] {
  const result = parseSpec(yaml, overrides);
  if (result.ok) throw new Error(`expected problems, got a valid spec: ${JSON.stringify(result.spec)}`);
  return result.problems.map((problem) => `${formatPath(problem.path)}: ${problem.message}`);
}

/** Asserts that `found` has exactly one problem, at `path`, whose message matches `message`. */
function assertOneProblem(found: string[], path: string, message: RegExp): void {
  assert.equal(found.length, 1, `expected one problem, got:\n${found.join('\n')}`);
  const [problem = ''] = found;
  assert.ok(problem.startsWith(`${path}: `), `expected a problem at "${path}", got: ${problem}`);
  assert.match(problem, message);
}

const CLASS_GRID = 'worker_class: trainer:Trainer\nparameters:\n  lr: [0.1, 0.01]\n  batch_size: 32\n';

test('worker_class: the spec carries the class and its init, and has no command', () => {
  const spec = valid(`${CLASS_GRID}init: {args: [1, 2], kwargs: {path: /data}}\n`);
  assert.deepEqual(spec.workerClass, { ref: 'trainer:Trainer', init: { args: [1, 2], kwargs: { path: '/data' } } });
  assert.deepEqual(spec.command, []);
  assert.equal(trialCount(spec), 2);
  assert.deepEqual(trialParameters(spec, 1), { lr: 0.01, batch_size: 32 });

  // Without init: the worker's own --init applies; init may be any JSON, null included.
  assert.deepEqual(valid(CLASS_GRID).workerClass, { ref: 'trainer:Trainer' });
  assert.deepEqual(valid(`${CLASS_GRID}init: null\n`).workerClass, { ref: 'trainer:Trainer', init: null });
  assert.deepEqual(valid(`${CLASS_GRID}init: [1, {a: b}]\n`).workerClass?.init, [1, { a: 'b' }]);
});

test('worker_class must be module:Class', () => {
  for (const ref of ['trainer:Trainer', 'lab.models:Trainer', '_m.sub_2:T1']) {
    assert.equal(valid(`worker_class: "${ref}"\ntrials: [{x: 1}]\n`).workerClass?.ref, ref);
  }
  for (const ref of ['trainer', 'trainer:', ':Trainer', 'a:b:C', '1a:C', 'a-b:C', 'a.:C', 'a:Trainer.run']) {
    const found = problems(`worker_class: "${ref}"\ntrials: [{x: 1}]\n`);
    assert.ok(
      found.some((problem) => problem.startsWith('worker_class: ') && /module:Class/.test(problem)),
      `${ref}: ${found.join('\n')}`,
    );
  }
});

test('a worker_class sweep takes no command, neither command: nor one after "--"', () => {
  assertOneProblem(problems(`${CLASS_GRID}command: python train.py\n`), 'command', /no command/);
  assertOneProblem(problems(`${CLASS_GRID}command: [python, train.py]\n`), 'command', /no command/);
  assertOneProblem(problems(CLASS_GRID, { command: ['x'] }), '', /no command.*"--"/);
});

test('init: without worker_class is a problem at init', () => {
  assertOneProblem(
    problems('command: python train.py\ninit: {a: 1}\nparameters:\n  lr: 0.1\n'),
    'init',
    /worker_class/,
  );
  assertOneProblem(
    problems('init: null\ntrials: [{x: 1}]\n', { command: ['python', 'train.py'] }),
    'init',
    /worker_class/,
  );
});

test('a worker_class sweep takes resources.labels only', () => {
  const spec = valid(`${CLASS_GRID}resources:\n  labels: {gpu_model: A100, zone: 3}\n`);
  assert.deepEqual(spec.resources, { labels: { gpu_model: 'A100', zone: '3' } });

  for (const asked of ['gpus: 2', 'gpu_memory: 16GiB', 'cpus: 4', 'memory: 8GiB', 'reserve: host']) {
    const found = problems(`${CLASS_GRID}resources:\n  labels: {zone: a}\n  ${asked}\n`);
    assertOneProblem(found, 'resources', /only resources\.labels apply/);
  }
  // The same resources are fine for a command sweep.
  assert.deepEqual(valid('command: python train.py\nresources: {gpus: 2}\nparameters:\n  lr: 0.1\n').resources, {
    gpus: 2,
  });
});

test('trials: the listed parameter sets are the trials, in order', () => {
  const spec = valid('command: python train.py\ntrials:\n  - {x: 1, mode: a}\n  - {x: 2}\n  - {x: 3, mode: [1, 2]}\n');
  assert.equal(trialCount(spec), 3);
  assert.deepEqual(spec.parameters, []);
  assert.equal(spec.samples, 1);
  assert.deepEqual(trialParameters(spec, 0), { x: 1, mode: 'a' });
  assert.deepEqual(trialParameters(spec, 1), { x: 2 });
  assert.deepEqual(trialParameters(spec, 2), { x: 3, mode: [1, 2] });
  // A copy: changing what trialParameters returns leaves the spec alone.
  trialParameters(spec, 1).x = 99;
  assert.deepEqual(spec.trials?.[1], { x: 2 });
});

test('trials: the argv and the name show each trial, the name only what varies and is present', () => {
  const spec = valid('command: python train.py\ntrials:\n  - {x: 1, mode: a, seed: 7}\n  - {x: 2, seed: 7}\n');
  const first = renderTrial(spec, 0);
  assert.deepEqual(first.argv, ['python', 'train.py', '--x=1', '--mode=a', '--seed=7']);
  assert.equal(first.name, 't000_x=1_mode=a');
  assert.deepEqual(JSON.parse(first.env.SWEEP_PARAMS ?? ''), { x: 1, mode: 'a', seed: 7 });
  const second = renderTrial(spec, 1);
  assert.deepEqual(second.argv, ['python', 'train.py', '--x=2', '--seed=7']);
  assert.equal(second.name, 't001_x=2');

  // Placeholders may name a trial's keys; one that names no parameter is still a problem of the command.
  const placed = valid('command: python train.py --x {x}\ntrials: [{x: 1}, {x: 2}]\n');
  assert.deepEqual(renderTrial(placed, 1).argv, ['python', 'train.py', '--x', '2']);
  const unknown = problems('command: python train.py {y}\ntrials: [{x: 1}]\n');
  assert.ok(
    unknown.some((problem) => /^command: unknown placeholder \{y\}/.test(problem)),
    unknown.join('\n'),
  );
});

test('trials with a worker_class: run(**params) gets each listed set', () => {
  const spec = valid('worker_class: trainer:Trainer\ninit: {data: /d}\ntrials: [{lr: 0.1}, {lr: 0.2, bs: 8}]\n');
  assert.deepEqual(spec.command, []);
  assert.deepEqual(spec.trials, [{ lr: 0.1 }, { lr: 0.2, bs: 8 }]);
  assert.deepEqual(renderTrial(spec, 1).params, { lr: 0.2, bs: 8 });
});

test('trials: not with parameters:, method: random or samples:', () => {
  const trials = 'trials: [{x: 1}, {x: 2}]\n';
  const command = 'command: python train.py\n';
  assertOneProblem(problems(`${command}parameters:\n  y: [1, 2]\n${trials}`), 'trials', /not both/);
  assertOneProblem(problems(`${command}parameters: {}\n${trials}`), 'trials', /not both/);
  assertOneProblem(problems(`${command}method: random\n${trials}`), 'trials', /method: random or samples/);
  assertOneProblem(problems(`${command}samples: 3\n${trials}`), 'trials', /method: random or samples/);
  assertOneProblem(problems(`${command}${trials}`, { samples: 3 }), 'trials', /method: random or samples/);
  // An empty list, or entries that are no mappings, are problems of trials too.
  assert.ok(problems(`${command}trials: []\n`).every((problem) => problem.startsWith('trials')));
  assert.ok(problems(`${command}trials: [1, {x: 2}]\n`).every((problem) => problem.startsWith('trials[0]')));
});

test('max_trials counts the listed trials', () => {
  const yaml = 'command: python train.py\nmax_trials: 2\ntrials: [{x: 1}, {x: 2}, {x: 3}]\n';
  assertOneProblem(problems(yaml), 'trials', /3 trials, more than max_trials \(2\)/);
  assertOneProblem(
    problems('command: python train.py\ntrials: [{x: 1}, {x: 2}]\n', { maxTrials: 1 }),
    'trials',
    /2 trials/,
  );
  assert.equal(trialCount(valid(yaml.replace('max_trials: 2', 'max_trials: 3'))), 3);
});

test('a placeholder must be in every trial, not only in some', () => {
  // Else trial 1 would run with the literal argument "{mode}".
  const found = problems('command: python train.py --mode {mode}\ntrials: [{x: 1, mode: a}, {x: 2}]\n');
  assertOneProblem(found, 'trials[1]', /has no mode/);
});

test('trial keys follow the parameter-name rule', () => {
  // As parameters: they would be rejected; unchecked they render as "--learning rate=1" and "----x=2".
  const found = problems('command: python train.py\ntrials: [{"learning rate": 1, "--x": 2}]\n');
  assert.equal(found.length, 2, found.join('\n'));
  assert.ok(found[0]?.startsWith('trials[0].learning rate: parameter name cannot be an option name'));
  assert.ok(found[1]?.startsWith('trials[0].--x: parameter name cannot be an option name'));
});

test('param_env: two trial keys must not become one variable', () => {
  const found = problems('command: python train.py\nparam_env: true\ntrials: [{a-b: 1, a_b: 2}]\n');
  assertOneProblem(found, 'trials[0].a_b', /both "a-b" and this parameter become SWEEP_PARAM_A_B/);
  assert.equal(trialCount(valid('command: python train.py\ntrials: [{a-b: 1, a_b: 2}]\n')), 1);
});

test('an invalid worker_class gives its own problem only, not "no command" too', () => {
  assertOneProblem(problems('worker_class: trainer\ntrials: [{x: 1}]\n'), 'worker_class', /module:Class/);
});

test('the resources problem names the keys as the file spells them', () => {
  const found = problems(`${CLASS_GRID}resources: {gpu_memory: 16GiB, memory: 8GiB, reserve: host}\n`);
  assertOneProblem(found, 'resources', /not gpu_memory, memory, reserve$/);
});

test('resource flags on a worker_class sweep are named as flags, not as keys the file does not have', () => {
  assertOneProblem(
    problems(CLASS_GRID, { resources: { gpus: 1, reserveHost: true } }),
    '',
    /only --label applies: drop --gpus, --reserve-host/,
  );
  assert.deepEqual(valid(CLASS_GRID, { resources: { labels: { rack: 'r2' } } }).resources.labels, { rack: 'r2' });
});

test('a placeholder that no trial has is reported once, as an unknown placeholder', () => {
  const found = problems('command: python train.py {y}\ntrials:\n  - {x: 1}\n');
  assertOneProblem(found, 'command', /unknown placeholder \{y\}/);
});

test('trials: that is not a list says so, in a document', () => {
  assertOneProblem(problems('command: python train.py\ntrials: {x: 1}\n'), 'trials', /expected a list, got a mapping/);
});
