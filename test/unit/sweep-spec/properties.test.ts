import assert from 'node:assert/strict';
import { test } from 'node:test';
import { axisSize, trialCount } from '../../../src/sweep-spec/expand.js';
import { parseSpec } from '../../../src/sweep-spec/load-spec.js';
import { generatorFor, type UniformSource } from '../../../src/sweep-spec/random.js';
import { renderTrial } from '../../../src/sweep-spec/render.js';

// Property tests draw their cases from the project's own seeded generator: every run checks the same
// cases, and a failure names the case number to replay.

const pick = <T>(random: UniformSource, items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
const int = (random: UniformSource, min: number, max: number) => min + Math.floor(random() * (max - min + 1));

/** A random valid parameter line and the number of grid values it contributes (0 for a distribution). */
function randomParameter(random: UniformSource, name: string): { yaml: string; size: number } {
  const start = int(random, -5, 5);
  switch (int(random, 0, 9)) {
    case 0:
      return { yaml: `${name}: ${pick(random, ['3', '0.25', 'adam', 'true', 'false', 'null', '"-1"'])}`, size: 1 };
    case 1: {
      const n = int(random, 1, 5);
      return { yaml: `${name}: [${Array.from({ length: n }, (_, i) => i * 1.5).join(', ')}]`, size: n };
    }
    case 2: {
      const step = pick(random, [1, 2, 0.1, 0.25, 0.3]);
      const n = int(random, 1, 8);
      return { yaml: `${name}: !!python/tuple [${start}, ${start + n * step}, ${step}]`, size: n };
    }
    case 3: {
      const n = int(random, 1, 6);
      return { yaml: `${name}: {range: [${start}, ${start + n - 1}], inclusive: true}`, size: n };
    }
    case 4: {
      const n = int(random, 1, 6);
      return { yaml: `${name}: {linspace: [${start}, ${start + 10}, ${n}]}`, size: n };
    }
    case 5: {
      const n = int(random, 1, 6);
      return { yaml: `${name}: {logspace: [0.001, 10, ${n}]}`, size: n };
    }
    case 6:
      return { yaml: `${name}: {distribution: uniform, min: ${start}, max: ${start + 1}, q: 0.1}`, size: 0 };
    case 7:
      return { yaml: `${name}: {distribution: choice, values: [a, b, c], weights: [1, 2, 0]}`, size: 0 };
    case 8:
      return {
        yaml: `${name}: {distribution: ${pick(random, ['poisson, lambda: 3', 'chisquare, df: 2', 'int, min: 0, max: 9'])}}`,
        size: 0,
      };
    default:
      return { yaml: `${name}: {distribution: normal, mu: ${start}, sigma: 2}`, size: 0 };
  }
}

test('property: count is the product of the axis sizes, every index renders, and a seed reproduces', () => {
  for (let caseNumber = 0; caseNumber < 300; caseNumber++) {
    const random = generatorFor(caseNumber, 0, 'property');
    const parameters = Array.from({ length: int(random, 0, 5) }, (_, i) => randomParameter(random, `p${i}`));
    const random_ = parameters.some((parameter) => parameter.size === 0);
    const samples = random_ ? int(random, 1, 4) : 1;
    const yaml = parameters.map((parameter) => parameter.yaml).join('\n') || '{}';
    const result = parseSpec(yaml, { command: ['run'], samples, seed: caseNumber });
    assert.ok(result.ok, `case ${caseNumber}: ${yaml}\n${result.ok ? '' : JSON.stringify(result.problems)}`);
    const { spec } = result;
    const expected = parameters.reduce((product, parameter) => product * Math.max(1, parameter.size), 1) * samples;
    assert.equal(trialCount(spec), expected, `case ${caseNumber}: ${yaml}`);
    for (const parameter of spec.parameters) {
      if (parameter.type === 'grid') assert.ok(axisSize(parameter.axis) >= 1);
    }
    const again = parseSpec(yaml, { command: ['run'], samples, seed: caseNumber });
    assert.ok(again.ok);
    for (let index = 0; index < trialCount(spec); index++) {
      const trial = renderTrial(spec, index);
      assert.equal(trial.argv[0], 'run');
      assert.deepEqual(renderTrial(again.spec, index), trial, `case ${caseNumber} trial ${index}`);
      for (const value of Object.values(trial.params)) {
        if (typeof value === 'number') assert.ok(Number.isFinite(value), `case ${caseNumber}: ${value}`);
      }
    }
  }
});
