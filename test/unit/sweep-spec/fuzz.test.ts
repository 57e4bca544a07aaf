import assert from 'node:assert/strict';
import { test } from 'node:test';
import { trialCount } from '../../../src/sweep-spec/expand.js';
import { parseSpec } from '../../../src/sweep-spec/load-spec.js';
import { formatProblem } from '../../../src/sweep-spec/problems.js';
import { generatorFor, type UniformSource } from '../../../src/sweep-spec/random.js';
import { renderTrial } from '../../../src/sweep-spec/render.js';

const seeds = [
  'gpu: -1\nbatchsize: [100, 500]\nepoch: !!python/tuple [5,20,5]\n',
  'lr: {distribution: loguniform, min: 1.0e-5, max: 0.1}\nopt: {distribution: choice, values: [adam, sgd]}\n',
  `name: study
command: [python, train.py, --out, "{trial_dir}"]
method: random
samples: 3
seed: 4
metric: {name: loss, goal: minimize}
retries: 1
timeout: 2h
resources: {gpus: 1, memory: 16GiB}
env: {A: b}
parameters:
  lr: {logspace: [0.0001, 0.1, 4]}
  bs: {range: [16, 64, 16], inclusive: true}
  drop: {distribution: uniform, min: 0, max: 0.5, q: 0.05}
  x: {linspace: [0, 1, 3]}
`,
  'a: &anchor [1, 2]\nb: *anchor\nc: {value: {nested: [1, {deep: true}]}}\n',
];
const fragments = [
  '[',
  ']',
  '{',
  '}',
  ':',
  ',',
  '-',
  ' ',
  '\n',
  '  ',
  '!!python/tuple ',
  '!!',
  '&a ',
  '*a',
  '"',
  "'",
  '#',
  '0',
  '-1',
  '1e400',
  'null',
  'true',
  '<<: ',
  '?',
  '|',
  '>',
  '\t',
  'distribution: ',
  'values: ',
  '{x}',
];

function mutate(text: string, random: UniformSource): string {
  const at = Math.floor(random() * (text.length + 1));
  const lines = text.split('\n');
  switch (Math.floor(random() * 6)) {
    case 0:
      return text.slice(0, at) + text.slice(at + 1 + Math.floor(random() * 4));
    case 1:
      return text.slice(0, at) + (fragments[Math.floor(random() * fragments.length)] ?? '') + text.slice(at);
    case 2: {
      const line = Math.floor(random() * lines.length);
      lines.splice(line, 0, lines[line] ?? '');
      return lines.join('\n');
    }
    case 3: {
      const [i, j] = [Math.floor(random() * lines.length), Math.floor(random() * lines.length)];
      [lines[i], lines[j]] = [lines[j] ?? '', lines[i] ?? ''];
      return lines.join('\n');
    }
    case 4:
      return text.replace(/\d+(\.\d+)?/, () => String(Math.floor(random() * 2000) - 1000));
    default:
      return (
        text.slice(0, at) + text.slice(at).replace(/^\S+/, fragments[Math.floor(random() * fragments.length)] ?? '')
      );
  }
}

test('fuzz: thousands of mutated files either expand or fail with located problems, never an exception', () => {
  let valid = 0;
  let invalid = 0;
  for (let round = 0; round < 3000; round++) {
    const random = generatorFor(round, 0, 'fuzz');
    let text = seeds[round % seeds.length] ?? '';
    for (let k = Math.floor(random() * 4); k >= 0; k--) text = mutate(text, random);
    let result: ReturnType<typeof parseSpec>;
    try {
      result = parseSpec(text, { command: ['run'], samples: 2 });
    } catch (error) {
      assert.fail(`round ${round} threw ${String(error)} on:\n${text}`);
    }
    if (result.ok) {
      valid++;
      const count = trialCount(result.spec);
      assert.ok(
        Number.isSafeInteger(count) && count >= 1 && count <= result.spec.maxTrials,
        `round ${round}: ${count}`,
      );
      renderTrial(result.spec, 0);
      renderTrial(result.spec, count - 1);
      continue;
    }
    invalid++;
    assert.ok(result.problems.length > 0);
    for (const problem of result.problems) {
      assert.ok(problem.message.length > 0, `round ${round}: empty message`);
      if (problem.path.length > 0)
        assert.ok(
          problem.line !== undefined && problem.line >= 1,
          `round ${round}: unlocated ${formatProblem('f', problem)}`,
        );
    }
  }
  // The mutations must exercise both outcomes, or the test proves nothing.
  assert.ok(valid > 300 && invalid > 300, `valid ${valid}, invalid ${invalid}`);
});
