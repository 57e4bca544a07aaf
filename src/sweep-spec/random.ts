import { round12 } from './number-format.js';
import type { Distribution, JsonValue } from './spec-types.js';

// Deterministic sampling that is safe inside a workflow: no Math.random, no clock. Every (seed, trial,
// parameter) triple gets its own generator, so trial i is computable alone and adding a parameter does not
// change the draws of the others. Only 32-bit integer arithmetic and IEEE doubles: the same on every machine.

/** cyrb128: a 128-bit string hash, used to seed the generator. */
function hash128(text: string): [number, number, number, number] {
  let h1 = 1779033703;
  let h2 = 3144134277;
  let h3 = 1013904242;
  let h4 = 2773480762;
  for (let i = 0; i < text.length; i++) {
    const k = text.charCodeAt(i);
    h1 = h2 ^ Math.imul(h1 ^ k, 597399067);
    h2 = h3 ^ Math.imul(h2 ^ k, 2869860233);
    h3 = h4 ^ Math.imul(h3 ^ k, 951274213);
    h4 = h1 ^ Math.imul(h4 ^ k, 2716044179);
  }
  h1 = Math.imul(h3 ^ (h1 >>> 18), 597399067);
  h2 = Math.imul(h4 ^ (h2 >>> 22), 2869860233);
  h3 = Math.imul(h1 ^ (h3 >>> 17), 951274213);
  h4 = Math.imul(h2 ^ (h4 >>> 19), 2716044179);
  h1 ^= h2 ^ h3 ^ h4;
  h2 ^= h1;
  h3 ^= h1;
  h4 ^= h1;
  return [h1 >>> 0, h2 >>> 0, h3 >>> 0, h4 >>> 0];
}

/** A uniform double in [0, 1) with 53 random bits, from the sfc32 generator. */
export type UniformSource = () => number;

export function generatorFor(seed: number, trialIndex: number, parameter: string): UniformSource {
  let [a, b, c, d] = hash128(`${seed}/${trialIndex}/${parameter}`);
  const next32 = (): number => {
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return t >>> 0;
  };
  for (let i = 0; i < 12; i++) next32();
  return () => ((next32() >>> 5) * 67108864 + (next32() >>> 6)) / 9007199254740992;
}

function standardNormal(uniform: UniformSource): number {
  // Box-Muller; 1 - u keeps the logarithm finite.
  return Math.sqrt(-2 * Math.log(1 - uniform())) * Math.cos(2 * Math.PI * uniform());
}

/** Marsaglia-Tsang; shapes below 1 use the boost X·U^(1/shape). */
function gamma(shape: number, uniform: UniformSource): number {
  if (shape < 1) return gamma(shape + 1, uniform) * Math.pow(1 - uniform(), 1 / shape);
  const d = shape - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    let x: number;
    let v: number;
    do {
      x = standardNormal(uniform);
      v = 1 + c * x;
    } while (v <= 0);
    v = v * v * v;
    const u = 1 - uniform();
    if (Math.log(u) < 0.5 * x * x + d - d * v + d * Math.log(v)) return d * v;
  }
}

/** Knuth's method for small means, Hörmann's transformed rejection (PTRS) for large ones. */
function poisson(lambda: number, uniform: UniformSource): number {
  if (lambda < 30) {
    const limit = Math.exp(-lambda);
    let k = 0;
    let product = uniform();
    while (product > limit) {
      k++;
      product *= uniform();
    }
    return k;
  }
  const slam = Math.sqrt(lambda);
  const logLambda = Math.log(lambda);
  const b = 0.931 + 2.53 * slam;
  const a = -0.059 + 0.02483 * b;
  const invAlpha = 1.1239 + 1.1328 / (b - 3.4);
  const vr = 0.9277 - 3.6224 / (b - 2);
  for (;;) {
    const u = uniform() - 0.5;
    const v = uniform();
    const us = 0.5 - Math.abs(u);
    const k = Math.floor(((2 * a) / us + b) * u + lambda + 0.43);
    if (us >= 0.07 && v <= vr) return k;
    if (k < 0 || (us < 0.013 && v > us)) continue;
    const logFactorial = lgamma(k + 1);
    if (Math.log(v) + Math.log(invAlpha) - Math.log(a / (us * us) + b) <= -lambda + k * logLambda - logFactorial) {
      return k;
    }
  }
}

/** log Γ(x) for x > 0 (Lanczos, g = 7). */
function lgamma(x: number): number {
  const coefficients = [
    0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
    12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
  ];
  if (x < 0.5) return Math.log(Math.PI / Math.abs(Math.sin(Math.PI * x))) - lgamma(1 - x);
  const z = x - 1;
  let sum = coefficients[0] ?? 0;
  for (let i = 1; i < coefficients.length; i++) sum += (coefficients[i] ?? 0) / (z + i);
  const t = z + 7.5;
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(sum);
}

function quantize(value: number, q: number | undefined): number {
  return round12(q === undefined ? value : Math.round(value / q) * q);
}

export function sample(distribution: Distribution, uniform: UniformSource): JsonValue {
  switch (distribution.kind) {
    case 'uniform':
      return quantize(distribution.min + uniform() * (distribution.max - distribution.min), distribution.q);
    case 'loguniform': {
      const [low, high] = [Math.log(distribution.min), Math.log(distribution.max)];
      return quantize(Math.exp(low + uniform() * (high - low)), distribution.q);
    }
    case 'normal':
      return quantize(distribution.mu + distribution.sigma * standardNormal(uniform), distribution.q);
    case 'int':
      return distribution.min + Math.floor(uniform() * (distribution.max - distribution.min + 1));
    case 'choice': {
      const { values, weights } = distribution;
      if (!weights) return values[Math.floor(uniform() * values.length)] ?? null;
      let remaining = uniform() * weights.reduce((sum, weight) => sum + weight, 0);
      for (const [i, weight] of weights.entries()) {
        remaining -= weight;
        if (remaining < 0) return values[i] ?? null;
      }
      return values[values.length - 1] ?? null;
    }
    case 'poisson':
      return poisson(distribution.lambda, uniform);
    case 'chisquare':
      return round12(2 * gamma(distribution.df / 2, uniform));
  }
}
