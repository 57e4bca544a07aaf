import { round12 } from './number-format.js';
import { generatorFor, sample } from './random.js';
import type { GridAxis, JsonValue, SweepSpec } from './spec-types.js';

export function axisSize(axis: GridAxis): number {
  return axis.kind === 'values' ? axis.values.length : axis.count;
}

export function axisValue(axis: GridAxis, k: number): JsonValue {
  switch (axis.kind) {
    case 'values':
      return axis.values[k] ?? null;
    case 'range':
      return round12(axis.start + k * axis.step);
    case 'linspace':
      return axis.count === 1 ? axis.start : round12(axis.start + ((axis.stop - axis.start) * k) / (axis.count - 1));
    case 'logspace': {
      if (axis.count === 1) return axis.start;
      const [low, high] = [Math.log(axis.start), Math.log(axis.stop)];
      // The ends are exact, whatever exp(log(x)) rounds to.
      if (k === 0) return axis.start;
      if (k === axis.count - 1) return axis.stop;
      return round12(Math.exp(low + ((high - low) * k) / (axis.count - 1)));
    }
  }
}

/** Grid points (the product of every axis size), without building any of them. */
export function gridSize(spec: Pick<SweepSpec, 'parameters'>): number {
  return spec.parameters.reduce(
    (size, parameter) => size * (parameter.type === 'grid' ? axisSize(parameter.axis) : 1),
    1,
  );
}

export function trialCount(spec: Pick<SweepSpec, 'parameters' | 'samples' | 'trials'>): number {
  return spec.trials ? spec.trials.length : gridSize(spec) * spec.samples;
}

/**
 * Trial `index`'s parameters, in file order. The sample number varies slowest, so the first gridSize trials
 * visit every grid point once; inside the grid the first parameter varies slowest and the last fastest.
 */
export function trialParameters(
  spec: Pick<SweepSpec, 'parameters' | 'samples' | 'seed' | 'trials'>,
  index: number,
): Record<string, JsonValue> {
  if (spec.trials) return { ...spec.trials[index] };
  let remainder = index % gridSize(spec);
  const gridValues = new Map<string, JsonValue>();
  for (const parameter of [...spec.parameters].reverse()) {
    if (parameter.type !== 'grid') continue;
    const size = axisSize(parameter.axis);
    gridValues.set(parameter.name, axisValue(parameter.axis, remainder % size));
    remainder = Math.floor(remainder / size);
  }
  const values: Record<string, JsonValue> = {};
  for (const parameter of spec.parameters) {
    values[parameter.name] =
      parameter.type === 'grid'
        ? (gridValues.get(parameter.name) ?? null)
        : sample(parameter.distribution, generatorFor(spec.seed, index, parameter.name));
  }
  return values;
}

/** Parameters that differ between trials: what a trial's name shows. */
export function varyingParameterNames(spec: Pick<SweepSpec, 'parameters' | 'trials'>): string[] {
  if (spec.trials) {
    const first = spec.trials[0] ?? {};
    const names = [...new Set(spec.trials.flatMap((trial) => Object.keys(trial)))];
    const same = (name: string) =>
      spec.trials?.every((trial) => JSON.stringify(trial[name]) === JSON.stringify(first[name])) ?? true;
    return names.filter((name) => !same(name));
  }
  return spec.parameters
    .filter((parameter) => parameter.type === 'random' || axisSize(parameter.axis) > 1)
    .map((parameter) => parameter.name);
}
