import { round12 } from './number-format.js';
import { generatorFor, sample } from './random.js';
import type { GridAxis, JsonValue, SweepSpec, TrialBlock } from './spec-types.js';

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

/** Every value of an axis, in order: for an axis that grows, or is compared, value by value. */
export function axisValues(axis: GridAxis): JsonValue[] {
  return Array.from({ length: axisSize(axis) }, (_, k) => axisValue(axis, k));
}

/** Grid points (the product of every axis size), without building any of them. */
export function gridSize(spec: Pick<SweepSpec, 'parameters'>): number {
  return spec.parameters.reduce(
    (size, parameter) => size * (parameter.type === 'grid' ? axisSize(parameter.axis) : 1),
    1,
  );
}

type TrialSource = Pick<SweepSpec, 'parameters' | 'samples' | 'trials' | 'blocks'>;

function blockSize(block: TrialBlock): number {
  return gridSize(block) * block.samples;
}

export function trialCount(spec: TrialSource): number {
  if (spec.trials) return spec.trials.length;
  const last = spec.blocks?.at(-1);
  return last ? last.first + blockSize(last) : gridSize(spec) * spec.samples;
}

/** The trials the sweep started with: a grown sweep's first block, or all of them. */
export function firstBlock(spec: TrialSource): TrialBlock {
  return spec.blocks?.[0] ?? { first: 0, parameters: spec.parameters, samples: spec.samples };
}

/** The block that holds trial `index` (blocks are in index order, and few). */
export function blockOf(spec: TrialSource, index: number): TrialBlock {
  const blocks = spec.blocks ?? [firstBlock(spec)];
  let found = blocks[0] ?? firstBlock(spec);
  for (const block of blocks) if (block.first <= index) found = block;
  return found;
}

/**
 * Trial `index`'s parameters, in file order. The sample number varies slowest, so the first gridSize trials
 * visit every grid point once; inside the grid the first parameter varies slowest and the last fastest. In a
 * grown sweep the same holds inside each block; random draws follow the trial's own index.
 */
export function trialParameters(
  spec: Pick<SweepSpec, 'parameters' | 'samples' | 'seed' | 'trials' | 'blocks'>,
  index: number,
): Record<string, JsonValue> {
  if (spec.trials) return { ...spec.trials[index] };
  const block = blockOf(spec, index);
  let remainder = (index - block.first) % gridSize(block);
  const gridValues = new Map<string, JsonValue>();
  for (const parameter of [...block.parameters].reverse()) {
    if (parameter.type !== 'grid') continue;
    const size = axisSize(parameter.axis);
    gridValues.set(parameter.name, axisValue(parameter.axis, remainder % size));
    remainder = Math.floor(remainder / size);
  }
  const values: Record<string, JsonValue> = {};
  for (const parameter of block.parameters) {
    values[parameter.name] =
      parameter.type === 'grid'
        ? (gridValues.get(parameter.name) ?? null)
        : sample(parameter.distribution, generatorFor(spec.seed, index, parameter.name));
  }
  return values;
}

/**
 * A trial's parameters as results show them: in a grown sweep, a trial that ran before `--add-param` added an
 * axis counts as that axis's first value (it ran without it, as documented).
 */
export function countedParameters(
  spec: Pick<SweepSpec, 'parameters' | 'blocks'>,
  params: Readonly<Record<string, JsonValue>>,
): Record<string, JsonValue> {
  if (!spec.blocks) return { ...params };
  const counted: Record<string, JsonValue> = {};
  for (const parameter of spec.parameters) {
    if (parameter.type === 'grid' && !Object.hasOwn(params, parameter.name))
      counted[parameter.name] = axisValue(parameter.axis, 0);
  }
  return { ...counted, ...params };
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
