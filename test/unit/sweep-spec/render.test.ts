import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseTemplate } from '../../../src/sweep-spec/command-template.js';
import { fillTrialDir, renderTrial, renderTrialTemplate } from '../../../src/sweep-spec/render.js';
import { shellQuote } from '../../../src/sweep-spec/shell-words.js';
import { specOf } from '../../helpers/spec.js';
import { tempDir } from '../../helpers/temporal.js';

const yaml = 'lr: 0.1\nverbose: true\nquiet: false\nresume: null\nlayers: [[64, 32]]\nname: "a b"';

const styles = [
  {
    args: 'equals' as const,
    argv: ['--lr=0.1', '--verbose', '--resume=', '--layers=[64,32]', '--name=a b'],
  },
  {
    args: 'space' as const,
    argv: ['--lr', '0.1', '--verbose', '--resume', '', '--layers', '[64,32]', '--name', 'a b'],
  },
  {
    args: 'hydra' as const,
    argv: ['lr=0.1', 'verbose=true', 'quiet=false', 'resume=null', 'layers=[64,32]', 'name=a b'],
  },
  { args: 'none' as const, argv: [] },
];

for (const { args, argv } of styles) {
  test(`argument style ${args}: flags, omitted false, null, JSON for structures`, () => {
    const trial = renderTrial(specOf(yaml, { command: ['train'], args }), 0);
    assert.deepEqual(trial.argv, ['train', ...argv]);
  });
}

test('placeholders take their parameter out of the options; built-ins and escapes work', () => {
  const spec = specOf(
    `command: [python, t.py, --lr, "{lr}", --out, "{trial_dir}/{trial_name}", "{{literal}}", "print({'a': 1})"]
parameters:
  lr: [0.1, 0.01]
  bs: 32`,
    {},
  );
  const trial = renderTrial(spec, 1, { trialDir: '/runs/s1/t001' });
  assert.deepEqual(trial.argv, [
    'python',
    't.py',
    '--lr',
    '0.01',
    '--out',
    '/runs/s1/t001/t001_lr=0.01',
    '{literal}',
    "print({'a': 1})",
    '--bs=32',
  ]);
  assert.equal(renderTrial(spec, 0).argv[5], '<trial_dir>/t000_lr=0.1');
});

test('a planned trial leaves only {trial_dir} to fill, and filling it gives exactly the rendered argv', () => {
  const spec = specOf(
    `command: [python, t.py, --out, "{trial_dir}/{trial_name}", "{{trial_dir}}", "print({'a': 1})", "{sweep_id}"]
parameters:
  tag: ["{trial_dir}", "}{", "a{{b}}"]`,
    {},
  );
  for (const index of [0, 1, 2]) {
    const template = renderTrialTemplate(spec, index, 's-1');
    const filled = fillTrialDir(template.argv, '/runs/t');
    assert.deepEqual(filled, renderTrial(spec, index, { trialDir: '/runs/t', sweepId: 's-1' }).argv);
    assert.deepEqual(template.params, renderTrial(spec, index).params);
  }
  // A parameter whose value looks like a placeholder stays text.
  assert.equal(fillTrialDir(renderTrialTemplate(spec, 0, 's-1').argv, '/x').at(-1), '--tag={trial_dir}');
  assert.equal(fillTrialDir(renderTrialTemplate(spec, 0, 's-1').argv, '/x')[4], '{trial_dir}');
});

test('parseTemplate splits literals and placeholders', () => {
  assert.deepEqual(parseTemplate('a{x}b{{c}}{y}'), ['a', { placeholder: 'x' }, 'b{c}', { placeholder: 'y' }]);
  assert.deepEqual(parseTemplate(''), ['']);
});

test('every trial gets its parameters as JSON; param_env adds one variable each; env is passed', () => {
  const spec = specOf(
    'command: t\nenv: {A: "1"}\nparam_env: true\nparameters: {lr: [0.1], model.depth: 3, use-amp: true}',
    {},
  );
  assert.deepEqual(renderTrial(spec, 0).env, {
    A: '1',
    SWEEP_PARAMS: '{"lr":0.1,"model.depth":3,"use-amp":true}',
    SWEEP_PARAM_LR: '0.1',
    SWEEP_PARAM_MODEL_DEPTH: '3',
    SWEEP_PARAM_USE_AMP: 'true',
  });
});

test('trial names are stable, readable, padded, and safe in paths', () => {
  const spec = specOf('lr: [0.1, 0.001]\nopt: ["adam w", "s/g/d"]\nfixed: 3');
  assert.deepEqual(
    [0, 1, 2, 3].map((i) => renderTrial(spec, i).name),
    ['t000_lr=0.1_opt=adam-w', 't001_lr=0.1_opt=s-g-d', 't002_lr=0.001_opt=adam-w', 't003_lr=0.001_opt=s-g-d'],
  );
  const big = specOf('a: {range: [0, 12345]}');
  assert.equal(renderTrial(big, 7).name, 't00007_a=7');
});

test('hostile values reach the program intact and run nothing', () => {
  const dir = tempDir('inject');
  const marker = join(dir, 'pwned');
  const hostile = [
    `$(touch ${marker})`,
    `; touch ${marker}`,
    `\`touch ${marker}\``,
    `it's "quoted"`,
    'a b  c',
    '*',
    '\\n',
  ];
  const script = join(dir, 'print-argv.js');
  writeFileSync(script, 'process.stdout.write(JSON.stringify(process.argv.slice(2)))');
  const spec = specOf(`x: ${JSON.stringify(hostile)}`, { command: [process.execPath, script], args: 'space' });
  for (const [i, value] of hostile.entries()) {
    const trial = renderTrial(spec, i);
    const received = JSON.parse(
      execFileSync(trial.argv[0] ?? '', trial.argv.slice(1), { encoding: 'utf8' }),
    ) as string[];
    assert.deepEqual(received, ['--x', value]);
    // The displayed command, pasted into a shell, gives the same argv too.
    const viaShell = JSON.parse(
      execFileSync('/bin/sh', ['-c', shellQuote(trial.argv)], { encoding: 'utf8' }),
    ) as string[];
    assert.deepEqual(viaShell, ['--x', value]);
  }
  assert.equal(existsSync(marker), false);
});
