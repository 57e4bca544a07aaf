import assert from 'node:assert/strict';
import { test } from 'node:test';
import { trialParameters } from '../../../src/sweep-spec/expand.js';
import { generatorFor, sample } from '../../../src/sweep-spec/random.js';
import type { Distribution } from '../../../src/sweep-spec/spec-types.js';
import { specOf } from '../../helpers/spec.js';

function draws(distribution: Distribution, n = 4000): number[] {
  return Array.from({ length: n }, (_, i) => sample(distribution, generatorFor(1, i, 'x')) as number);
}
const mean = (values: number[]) => values.reduce((sum, value) => sum + value, 0) / values.length;
const variance = (values: number[]) => mean(values.map((value) => (value - mean(values)) ** 2));

test('the generator is pinned: these draws must never change, or old sweeps stop being reproducible', () => {
  const uniform = generatorFor(0, 0, 'lr');
  assert.deepEqual(
    [uniform(), uniform(), uniform()].map((value) => value.toFixed(15)),
    ['0.632684544583359', '0.232405678047837', '0.171009654324444'],
  );
});

test('same seed, same trials; another seed, other trials; trial i needs no other trial', () => {
  const yaml = 'lr: {distribution: loguniform, min: 1.0e-5, max: 0.1}\nbs: [16, 32]';
  const spec = specOf(yaml, { command: ['t'], samples: 50 });
  const first = Array.from({ length: 100 }, (_, i) => trialParameters(spec, i));
  assert.deepEqual(
    Array.from({ length: 100 }, (_, i) => trialParameters(specOf(yaml, { command: ['t'], samples: 50 }), i)),
    first,
  );
  assert.deepEqual(trialParameters(spec, 77), first[77]);
  const other = specOf(yaml, { command: ['t'], samples: 50, seed: 1 });
  assert.notDeepEqual(trialParameters(other, 0), first[0]);
});

test('adding a parameter does not change the draws of the others', () => {
  const before = specOf('a: {distribution: uniform, min: 0, max: 1}', { command: ['t'], samples: 5 });
  const after = specOf('a: {distribution: uniform, min: 0, max: 1}\nb: {distribution: normal, mu: 0, sigma: 1}', {
    command: ['t'],
    samples: 5,
  });
  for (let i = 0; i < 5; i++) assert.equal(trialParameters(after, i).a, trialParameters(before, i).a);
});

test('grid × samples: the first grid-size trials visit every grid point once', () => {
  const spec = specOf('opt: [adam, sgd]\nlr: {distribution: uniform, min: 0, max: 1}', { command: ['t'], samples: 3 });
  assert.deepEqual(
    Array.from({ length: 6 }, (_, i) => trialParameters(spec, i).opt),
    ['adam', 'sgd', 'adam', 'sgd', 'adam', 'sgd'],
  );
});

test('uniform, loguniform and quantized draws stay in range with the right shape', () => {
  const uniform = draws({ kind: 'uniform', min: 2, max: 4 });
  assert.ok(uniform.every((value) => value >= 2 && value < 4));
  assert.ok(Math.abs(mean(uniform) - 3) < 0.05);
  const log = draws({ kind: 'loguniform', min: 1e-4, max: 1 });
  assert.ok(log.every((value) => value >= 1e-4 && value <= 1));
  assert.ok(Math.abs(mean(log.map(Math.log10)) + 2) < 0.1, 'log-uniform: mean exponent -2');
  const quantized = draws({ kind: 'uniform', min: 0, max: 1, q: 0.25 });
  assert.deepEqual([...new Set(quantized)].sort(), [0, 0.25, 0.5, 0.75, 1]);
});

test('normal, int, poisson and chi-square have the right moments', () => {
  const normal = draws({ kind: 'normal', mu: 10, sigma: 2 });
  assert.ok(Math.abs(mean(normal) - 10) < 0.15 && Math.abs(Math.sqrt(variance(normal)) - 2) < 0.15);
  const ints = draws({ kind: 'int', min: 1, max: 6 });
  assert.deepEqual([...new Set(ints)].sort(), [1, 2, 3, 4, 5, 6]);
  for (const lambda of [4, 120]) {
    const counts = draws({ kind: 'poisson', lambda });
    assert.ok(counts.every((value) => Number.isInteger(value) && value >= 0));
    assert.ok(Math.abs(mean(counts) - lambda) < lambda * 0.05, `poisson(${lambda}) mean ${mean(counts)}`);
    assert.ok(Math.abs(variance(counts) - lambda) < lambda * 0.15, `poisson(${lambda}) variance ${variance(counts)}`);
  }
  for (const df of [1, 5]) {
    const chi = draws({ kind: 'chisquare', df });
    assert.ok(Math.abs(mean(chi) - df) < df * 0.08, `chi-square(${df}) mean ${mean(chi)}`);
  }
});

test('choice honours its weights', () => {
  const picks = Array.from({ length: 4000 }, (_, i) =>
    sample({ kind: 'choice', values: ['a', 'b'], weights: [3, 1] }, generatorFor(2, i, 'c')),
  );
  const share = picks.filter((pick) => pick === 'a').length / picks.length;
  assert.ok(Math.abs(share - 0.75) < 0.03, `share of a: ${share}`);
});
